"""Idempotency-Key on POST /clients and POST /add, both backends."""
import http.client
import json
import uuid

import pytest

from .conftest import Gunicorn, TEST_ENV


def post(client, body, key, path="/clients"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    if path == "/clients":
        return client.post(path, json=body, headers=headers)
    return client.post(path, query_string=body, headers=headers)


@pytest.mark.parametrize("path", ["/clients", "/add"])
def test_same_key_same_body_returns_the_original(client, store, path):
    key = str(uuid.uuid4())
    first = post(client, {"name": "Ada", "money": "1.5"}, key, path)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post(client, {"name": " Ada ", "money": "1.50"}, key, path)  # same after validation
    assert again.status_code == 201, again.data
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(store.all()) == 1


def test_same_key_other_body_is_409(client, store):
    key = "k-" + uuid.uuid4().hex
    assert post(client, {"name": "a", "money": "1"}, key).status_code == 201
    resp = post(client, {"name": "a", "money": "2"}, key)
    assert resp.status_code == 409
    assert resp.get_json()["field"] == "Idempotency-Key"
    assert len(store.all()) == 1


def test_without_key_every_post_creates(client, store):
    for _ in range(2):
        assert post(client, {"name": "a", "money": "1"}, None).status_code == 201
    assert len(store.all()) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "é"])
def test_bad_keys_are_400(client, store, key):
    resp = client.post("/clients", json={"name": "a", "money": "1"},
                       headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert resp.status_code == 400 and resp.get_json()["field"] == "Idempotency-Key"
    assert store.all() == []


def test_expired_key_can_be_reused(client, store, backend):
    key = "old"
    assert post(client, {"name": "a", "money": "1"}, key).status_code == 201
    with store.connection() as conn:  # age the key past the documented 24 h
        if backend == "postgres":
            conn.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        else:
            conn.execute("UPDATE idempotency_keys SET created_at = created_at - 25 * 3600")
    resp = post(client, {"name": "b", "money": "2"}, key)
    assert resp.status_code == 201 and resp.get_json()["name"] == "b"
    assert len(store.all()) == 2


@pytest.fixture(params=["sqlite", "postgres"])
def killer_gunicorn(request, tmp_path):
    env = dict(TEST_ENV, WEB_CONCURRENCY="2", GUNICORN_THREADS="4")
    if request.param == "postgres":
        pg = request.getfixturevalue("pg")
        env["DATABASE_URL"] = pg.create_database("idempotency_test")
    else:
        env["SQLITE_PATH"] = str(tmp_path / "clients.sqlite3")
    server = Gunicorn(env, str(tmp_path), wsgi="tests.killer_wsgi:application")
    yield server
    server.stop()


def test_retry_after_worker_killed_mid_request_leaves_one_row(killer_gunicorn):
    """The worker dies after the commit and before the reply; the client retries with the
    same key and gets the original 201 and id; exactly one row exists."""
    server = killer_gunicorn
    key = str(uuid.uuid4())
    body = json.dumps({"name": "once", "money": "9.99"})
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        server.request("POST", "/clients", body, dict(headers, **{"X-Test-Die-After-Commit": "1"}))
    rows = [c for c in server.request("GET", "/getall")[1] if c["name"] == "once"]
    assert len(rows) == 1  # committed, though the client never heard of it
    for _ in range(3):  # retries, possibly on the respawned worker
        status, reply, resp_headers = server.request("POST", "/clients", body, headers)
        assert status == 201, reply
        assert reply["id"] == rows[0]["id"] and resp_headers["Idempotent-Replayed"] == "true"
    assert [c for c in server.request("GET", "/getall")[1] if c["name"] == "once"] == rows
