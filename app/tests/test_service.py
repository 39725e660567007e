"""Service endpoints: /, /time, /health, /ready, and JSON errors for unknown routes."""
import json
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


def _page_cursor(client):
    return client.get("/clients?limit=2").get_json()["next_cursor"]


def test_fast_clients_list_answers_exactly_like_flask(app, client, store):
    """GET /clients skips Flask when its query string is plain: same status, headers and
    bytes as the Flask route for every page and for invalid or unusual query strings."""
    from decimal import Decimal
    for i in range(5):
        store.create("fast \u00e9 \"%d\"" % i, Decimal("%d.50" % i))
    cursor = _page_cursor(client)
    fast, flask_only = app.wsgi_app, app.wsgi_app._next
    for query in ("", "?limit=2", "?limit=2&cursor=" + cursor, "?cursor=" + cursor,
                  "?limit=1000", "?limit=0", "?limit=abc", "?limit=", "?limit",
                  "?cursor=nope", "?cursor=c1_!!", "?limit=%32", "?limit=2&limit=3",
                  "?limit=+2", "?x=1", "?limit=2&&x", "?limit=1e3"):
        a = _call(fast, "/clients" + query)
        b = _call(flask_only, "/clients" + query)
        assert a == b, (query, a, b)
        assert a[1] == "application/json"
    assert _call(fast, "/clients?limit=2")[0] == "200 OK"
    assert _call(fast, "/clients?limit=0")[0].startswith("400")
    assert _call(fast, "/clients", "HEAD")[0] == "200 OK"
    # which requests reach Flask: only those the fast path does not take
    reached = []
    fast._next = lambda environ, start: reached.append(environ["QUERY_STRING"]) or \
        flask_only(environ, start)
    for query in ("limit=2", "limit=2&cursor=" + cursor, "", "limit=%32", "limit=0"):
        _call(fast, "/clients?" + query if query else "/clients")
    assert reached == ["limit=%32", "limit=0"]


def test_fast_clients_list_error_goes_through_flask_once(tmp_path):
    """A database error on the fast GET /clients path is answered by Flask's handler (503,
    Retry-After), without calling the database a second time."""
    from clients_service import create_app
    from clients_service.config import resolve_settings
    from clients_service.storage import DatabaseUnavailable
    calls = []

    class DownStore:
        settings = resolve_settings({"SQLITE_PATH": str(tmp_path / "unused.sqlite3")})

        def page_json(self, after, limit):
            calls.append((after, limit))
            raise DatabaseUnavailable("database did not answer within 1.0s")

    app = create_app(store=DownStore())
    from werkzeug.test import EnvironBuilder
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    environ = EnvironBuilder(path="/clients", query_string="limit=7").get_environ()
    body = b"".join(app.wsgi_app(environ, start_response))
    assert captured["status"].startswith("503")
    assert captured["headers"]["Retry-After"] == "5"
    assert json.loads(body) == {"error": "database unavailable",
                                "reason": "database did not answer within 1.0s"}
    assert calls == [(0, 7)]
