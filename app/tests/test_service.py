"""Service endpoints: /, /time, /health, /ready, and JSON errors for unknown routes."""
import socket
import time


def test_index_returns_hostname(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.get_json() == {"hostname": socket.gethostname()}


def test_time_payload_exact(client):
    before = int(time.time())
    resp = client.get("/time")
    after = int(time.time())
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"message", "timestamp"}
    assert body["message"] == "Automation for the People"
    assert type(body["timestamp"]) is int
    assert before <= body["timestamp"] <= after
    assert b"." not in resp.data.split(b'"timestamp"')[1]  # integer, not 1.7e9 / 1700000000.0


def test_health(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"status", "release"} and body["status"] == "ok"  # release: test_release.py


def test_ready(client, backend):
    resp = client.get("/ready")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ready", "database": backend}


def test_unknown_route_is_json_404(client):
    resp = client.get("/nope")
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"
    assert "error" in resp.get_json()


def test_wrong_method_is_json_405_with_allow(client):
    for method, path in (("delete", "/clients"), ("put", "/time"), ("get", "/add"),
                         ("post", "/getall"), ("patch", "/clients/1")):
        resp = getattr(client, method)(path)
        assert resp.status_code == 405, (method, path)
        assert resp.mimetype == "application/json"
        assert "error" in resp.get_json()
        assert "Allow" in resp.headers


def test_head_and_options_work(client):
    assert client.head("/health").status_code == 200
    resp = client.options("/clients")
    assert resp.status_code == 200
    assert {"GET", "POST"} <= set(resp.headers["Allow"].split(", "))


def test_double_slash_is_plain_404(client):
    resp = client.get("/clients//1")
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"


def _call(wsgi_app, path, method="GET"):
    from werkzeug.test import EnvironBuilder
    environ = EnvironBuilder(path=path, method=method).get_environ()
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(wsgi_app(environ, start_response))
    headers = {k.lower(): v for k, v in captured["headers"]}
    return captured["status"], headers["content-type"], headers["content-length"], body


def test_fast_routes_answer_exactly_like_flask(app):
    """GET /time and /health skip Flask (clients_service._FastRoutes); their answers must be
    byte-for-byte those of the Flask routes."""
    fast, flask_only = app.wsgi_app, app.wsgi_app._next
    for path in ("/health", "/time", "/time?x=1"):
        for _ in range(3):  # /time: retry if a second boundary fell between the two calls
            a, b = _call(fast, path), _call(flask_only, path)
            if a == b:
                break
        assert a == b, (path, a, b)
        assert a[0] == "200 OK" and a[1] == "application/json"
    # other methods and paths still reach Flask
    assert _call(fast, "/time", "POST")[0].startswith("405")
    assert _call(fast, "/health", "HEAD")[0] == "200 OK"
    assert _call(fast, "/time/")[0].startswith("404")
