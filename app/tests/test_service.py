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
    assert resp.get_json() == {"status": "ok"}


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
