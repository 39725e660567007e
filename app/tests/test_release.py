"""GET /health reports the release the deploy set in APP_RELEASE (issue 11 section 3): the
post-deploy check (lib/releaseCheck.ts) waits for it, so it must be exact, on the fast path and
the Flask path alike, and never echo something that is not a release label."""
import pytest

from clients_service import create_app
from clients_service.config import app_release, resolve_settings

from .conftest import Gunicorn
from .test_service import _call

# targets/beanstalk.ts: <prefix>-<digest>-<deploy id>
EB_LABEL = "flask-app-dev-0123456789ab-a1b2c3"
# components/containerImage.ts: <arch>-<digest>-<build id>
IMAGE_TAG = "amd64-0123456789ab-deadbeef"


@pytest.mark.parametrize("env, expected", [
    ({}, "unknown"),
    ({"APP_RELEASE": ""}, "unknown"),
    ({"APP_RELEASE": "  "}, "unknown"),
    ({"APP_RELEASE": EB_LABEL}, EB_LABEL),
    ({"APP_RELEASE": " %s\n" % IMAGE_TAG}, IMAGE_TAG),
    ({"APP_RELEASE": "v1.2.3+build.7"}, "v1.2.3+build.7"),
    ({"APP_RELEASE": "sha256:" + "a" * 64}, "sha256:" + "a" * 64),
    # not a label: never served as-is
    ({"APP_RELEASE": "postgresql://user:pw@db.example.com/app"}, "invalid"),
    ({"APP_RELEASE": "two words"}, "invalid"),
    ({"APP_RELEASE": "line\nbreak"}, "invalid"),
    ({"APP_RELEASE": "-leading-hyphen"}, "invalid"),
    ({"APP_RELEASE": "x" * 129}, "invalid"),
])
def test_app_release_from_environment(env, expected):
    assert app_release(env) == expected


def test_longest_label_is_kept():
    assert app_release({"APP_RELEASE": "x" * 128}) == "x" * 128


def _sqlite_app(tmp_path, **kwargs):
    settings = resolve_settings({"SQLITE_PATH": str(tmp_path / "release.sqlite3")})
    return create_app(settings, **kwargs)


@pytest.mark.parametrize("value, expected",
                         [(IMAGE_TAG, IMAGE_TAG), (None, "unknown"), ("a b", "invalid")])
def test_health_reports_release_on_both_paths(tmp_path, monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("APP_RELEASE", raising=False)
    else:
        monkeypatch.setenv("APP_RELEASE", value)
    app = _sqlite_app(tmp_path)
    try:
        resp = app.test_client().get("/health")
        assert resp.status_code == 200
        assert resp.get_json() == {"status": "ok", "release": expected}
        # the fast path (no Flask) and the Flask route answer byte for byte the same
        fast, flask_only = app.wsgi_app, app.wsgi_app._next
        assert _call(fast, "/health") == _call(flask_only, "/health")
        assert b'"release":"%s"' % expected.encode() in _call(fast, "/health")[3]
    finally:
        app.extensions["clients_store"].close()


def test_explicit_release_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_RELEASE", IMAGE_TAG)
    app = _sqlite_app(tmp_path, release=EB_LABEL)
    try:
        assert app.test_client().get("/health").get_json()["release"] == EB_LABEL
    finally:
        app.extensions["clients_store"].close()


def test_gunicorn_serves_the_release_from_its_environment(tmp_path):
    """What the platforms do: APP_RELEASE in the process environment, gunicorn serves it."""
    server = Gunicorn({"SQLITE_PATH": str(tmp_path / "g.sqlite3"), "APP_RELEASE": EB_LABEL,
                       "WEB_CONCURRENCY": "2"}, str(tmp_path))
    try:
        for _ in range(4):  # whichever worker answers
            status, body, _ = server.request("GET", "/health")
            assert status == 200 and body == {"status": "ok", "release": EB_LABEL}
    finally:
        assert server.stop() == 0
