"""Clients API and legacy routes, run on SQLite and on PostgreSQL."""
import base64
import json
import threading
from decimal import Decimal

import pytest

from clients_service.validation import encode_cursor


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/clients", data=data, content_type=content_type)


def assert_400(resp, field):
    assert resp.status_code == 400, resp.data
    body = resp.get_json()
    assert resp.mimetype == "application/json"
    assert body["field"] == field, body
    assert isinstance(body["error"], str) and body["error"]
    return body


# ----------------------------------------------------------------------- create / get

def test_create_and_get(client):
    resp = post(client, {"name": "  Ada Lovelace ", "money": "12.5"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body == {"id": body["id"], "name": "Ada Lovelace", "money": "12.50"}
    assert isinstance(body["id"], int)
    assert resp.headers["Location"].endswith("/clients/%d" % body["id"])
    got = client.get(resp.headers["Location"])
    assert got.status_code == 200
    assert got.get_json() == body


def test_ids_increase(client):
    a = post(client, {"name": "a", "money": 1}).get_json()["id"]
    b = post(client, {"name": "b", "money": 2}).get_json()["id"]
    assert b > a


def test_money_exactness(client, store):
    a = post(client, {"name": "a", "money": "0.10"}).get_json()
    b = post(client, {"name": "b", "money": 0.20}).get_json()  # JSON number 0.2
    assert (a["money"], b["money"]) == ("0.10", "0.20")
    assert Decimal(a["money"]) + Decimal(b["money"]) == Decimal("0.30")
    stored = {c["id"]: c["money"] for c in store.all()}
    assert stored[a["id"]] + stored[b["id"]] == Decimal("0.30")
    assert isinstance(stored[a["id"]], Decimal)


@pytest.mark.parametrize("raw", ['"123456789012.34"', "123456789012.34",
                                 '"999999999999.99"', "-999999999999.99"])
def test_large_money_round_trips(client, raw):
    resp = post(client, '{"name": "rich", "money": %s}' % raw)
    assert resp.status_code == 201, resp.data
    expected = raw.strip('"')
    assert resp.get_json()["money"] == expected
    again = client.get("/clients/%d" % resp.get_json()["id"]).get_json()
    assert again["money"] == expected


@pytest.mark.parametrize("raw, expected", [
    ('"0"', "0.00"), ("0", "0.00"), ('"-0"', "0.00"), ("-0.0", "0.00"), ("1E+2", "100.00"),
    ("1e2", "100.00"), ('"7"', "7.00"), ("7", "7.00"), ("0.1", "0.10"), ('"-3.5"', "-3.50"),
    ("1.50", "1.50"), ('"0001.20"', "1.20"), ('" 5.25 "', "5.25"),
])
def test_money_normalisation(client, raw, expected):
    resp = post(client, '{"name": "n", "money": %s}' % raw)
    assert resp.status_code == 201, resp.data
    assert resp.get_json()["money"] == expected


@pytest.mark.parametrize("raw", [
    '"1.234"', "1.234", "0.001", '"abc"', '"NaN"', "NaN", "Infinity", "-Infinity",
    '"Infinity"', '"1e5"', '"0x10"', '"1,5"', '""', '"  "', "true", "false", "null", "[]",
    "{}", '["1"]', "1e12", "1000000000000", '"1000000000000.00"', '"-1000000000000"',
    "1e999999999", "1e-999999999", '"+5"', '"5."', '".5"', '"١٢"',
    pytest.param("9" * 5000, id="5000-digits"),
])
def test_money_rejected(client, raw):
    body = assert_400(post(client, '{"name": "n", "money": %s}' % raw), "money")
    assert "money" in body["error"]


@pytest.mark.parametrize("number", [
    "1e99999999999999999999", "1e-99999999999999999999", "-1e99999999999999999999",
    "0e99999999999999999999", "0e-99999999999999999999", "1E+999999999999999999",
    "1.5e-1000000000000000000000000",
])
@pytest.mark.parametrize("where", ["money", "name", "extra", "nested"])
def test_number_beyond_decimal_limits_is_400(client, number, where):
    # JSON allows any exponent; Decimal() cannot hold these (decimal.InvalidOperation).
    bodies = {"money": '{"name": "n", "money": %s}',
              "name": '{"name": %s, "money": "1"}',
              "extra": '{"name": "n", "money": "1", "x": %s}',
              "nested": '{"name": "n", "money": "1", "x": [{"y": %s}]}'}
    resp = post(client, bodies[where] % number)
    assert resp.status_code == 400, resp.data
    assert resp.get_json()["field"] == {"extra": "x", "nested": "x"}.get(where, where)


def test_money_missing(client):
    assert_400(post(client, {"name": "n"}), "money")


@pytest.mark.parametrize("name", ["x" * 100, "  %s  " % ("y" * 100), "é" * 100, "😀" * 100,
                                  "李小龍", "Zoë O'Brien-Łukasz", "a b"])
def test_name_accepted(client, name):
    resp = post(client, {"name": name, "money": "1"})
    assert resp.status_code == 201, resp.data
    assert resp.get_json()["name"] == name.strip()
    assert client.get(resp.headers["Location"]).get_json()["name"] == name.strip()


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 101, "😀" * 101, 5, 1.5, True, None,
                                  ["a"], {"a": 1}, "a\x00b", "bad\x07bell"])
def test_name_rejected(client, name):
    body = assert_400(post(client, {"name": name, "money": "1"}), "name")
    assert "name" in body["error"]


def test_name_missing(client):
    assert_400(post(client, {"money": "1"}), "name")


def test_lone_surrogate_name_rejected(client):
    assert_400(post(client, b'{"name": "\\ud800", "money": "1"}'), "name")


@pytest.mark.parametrize("body, content_type, field", [
    (b'{"name": "a", "money": "1"', "application/json", "body"),
    (b"", "application/json", "body"),
    (b"[1, 2]", "application/json", "body"),
    (b'"str"', "application/json", "body"),
    (b"\xff\xfe\xfa", "application/json", "body"),
    pytest.param(b"[" * 30000 + b"]" * 30000, "application/json", "body", id="deep-nesting"),
    (b'{"name": "a", "money": "1"}', "text/plain", "content_type"),
    (b"name=a&money=1", "application/x-www-form-urlencoded", "content_type"),
    (b'{"name": "a", "money": "1"}', None, "content_type"),
    (b'{"name": "a", "money": "1", "id": 7}', "application/json", "id"),
])
def test_bad_bodies(client, body, content_type, field):
    resp = client.post("/clients", data=body, content_type=content_type)
    assert_400(resp, field)


def test_json_with_charset_and_vendor_type_accepted(client):
    assert post(client, {"name": "a", "money": 1},
                "application/json; charset=utf-8").status_code == 201
    assert post(client, {"name": "a", "money": 1}, "application/vnd.api+json").status_code == 201


def test_huge_body_is_json_413(client):
    resp = post(client, {"name": "a" * 100000, "money": "1"})
    assert resp.status_code == 413
    assert "error" in resp.get_json()


@pytest.mark.parametrize("raw_id, status", [
    ("999999", 404), ("0", 404), ("9223372036854775807", 404), ("9223372036854775808", 404),
    ("99999999999999999999999999999999", 404), pytest.param("9" * 41, 404, id="41-digits"),
    pytest.param("1" * 5000, 404, id="5000-digits"), pytest.param("0" * 60 + "7", 404, id="zeros"),
    ("abc", 400), ("-1", 400),
    ("1.0", 400), ("%20", 400), ("%E2%91%A0", 400), ("%D9%A1", 400), ("1e3", 400),
])
def test_get_bad_or_unknown_ids(client, raw_id, status):
    for prefix in ("/clients/", "/get/"):
        resp = client.get(prefix + raw_id)
        assert resp.status_code == status, (prefix, raw_id, resp.data)
        assert resp.mimetype == "application/json"
        if status == 400:
            assert resp.get_json()["field"] == "id"


# ----------------------------------------------------------------------- paging

def fill(store, n):
    return [store.create("client %d" % i, Decimal(i).scaleb(-2))["id"] for i in range(n)]


def test_paging_walks_every_row_once(client, store):
    ids = fill(store, 23)
    seen, cursor, pages = [], None, 0
    while True:
        url = "/clients?limit=5" + ("&cursor=" + cursor if cursor else "")
        body = client.get(url).get_json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 5
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 5
    assert len(set(seen)) == 23


def test_paging_with_names_that_look_like_items(client, store):
    """The next cursor comes from the id of the page's last item, which PostgreSQL's storage
    reads back from the page's JSON text (storage._last_item_id): names holding the text of an
    item's start must not move it."""
    names = ['{"id":999,"name":"x","money":"1"}', 'a,{"id":5,', '{"id":', "plain"]
    ids = [post(client, {"name": n, "money": "1"}).get_json()["id"] for n in names]
    seen, cursor = [], None
    while True:
        body = client.get("/clients?limit=1" + ("&cursor=" + cursor if cursor else "")).get_json()
        seen.extend((item["id"], item["name"]) for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(zip(ids, names))


def test_paging_exact_multiple_has_no_empty_trailing_page(client, store):
    fill(store, 4)
    first = client.get("/clients?limit=2").get_json()
    second = client.get("/clients?limit=2&cursor=" + first["next_cursor"]).get_json()
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_default_limit_is_100(client, store):
    fill(store, 101)
    body = client.get("/clients").get_json()
    assert len(body["items"]) == 100
    assert body["next_cursor"] is not None
    rest = client.get("/clients?cursor=" + body["next_cursor"]).get_json()
    assert [c["name"] for c in rest["items"]] == ["client 100"]
    assert rest["next_cursor"] is None


def test_limit_max_is_1000(client, store):
    fill(store, 3)
    assert len(client.get("/clients?limit=1000").get_json()["items"]) == 3
    assert_400(client.get("/clients?limit=1001"), "limit")


def test_empty_list(client):
    assert client.get("/clients").get_json() == {"items": [], "next_cursor": None}


def test_paging_sees_rows_added_after_first_page(client, store):
    fill(store, 3)
    first = client.get("/clients?limit=2").get_json()
    store.create("late", Decimal("1.00"))
    rest = client.get("/clients?limit=10&cursor=" + first["next_cursor"]).get_json()
    assert [c["name"] for c in rest["items"]] == ["client 2", "late"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "", "1001", "99999999999999999999",
                                   " 5", "٥"])
def test_bad_limit(client, limit):
    body = assert_400(client.get("/clients", query_string={"limit": limit}), "limit")
    assert "limit" in body["error"] and "1000" in body["error"]


def _b64(raw):
    return "c1_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage", "", "c1_", "c1_!!!", _b64(b'{"after": -1}'), _b64(b'{"after": "1"}'),
    _b64(b'{"after": true}'), _b64(b'{"x": 1}'), _b64(b'{"after": 1, "x": 2}'), _b64(b"[1]"),
    _b64(b"\xff\xfe"), _b64(b'{"after": 1e400}'), _b64(b'{"after": 9223372036854775808}'),
    pytest.param("c1_" + "A" * 500, id="long"),
])
def test_bad_cursor(client, cursor):
    body = assert_400(client.get("/clients", query_string={"cursor": cursor}), "cursor")
    assert "cursor" in body["error"]


def test_cursor_is_opaque_but_roundtrips(client, store):
    ids = fill(store, 3)
    body = client.get("/clients?cursor=" + encode_cursor(ids[0])).get_json()
    assert [c["id"] for c in body["items"]] == ids[1:]


@pytest.mark.parametrize("last_id", [1, 100, 987654321, 2 ** 63 - 1])
def test_cursor_bytes_are_those_earlier_releases_issued(last_id):
    """A cursor handed out before an upgrade must still work after it (and the reverse): the
    payload stays the compact JSON object it always was."""
    from clients_service.validation import CURSOR_PREFIX, decode_cursor
    payload = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    earlier = CURSOR_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")
    assert encode_cursor(last_id) == earlier
    assert decode_cursor(earlier) == last_id


# ----------------------------------------------------------------------- legacy routes

def test_legacy_add_get_getall(client):
    resp = client.post("/add?name=Camilo&money=1500.5")
    assert resp.status_code == 201
    new_id = resp.get_json()["id"]
    assert resp.get_json() == {"id": new_id}
    expected = {"id": new_id, "name": "Camilo", "money": "1500.50"}
    assert client.get("/get/%d" % new_id).get_json() == expected
    client.post("/add", query_string={"name": "Ana María", "money": "0.01"})
    everything = client.get("/getall").get_json()
    assert isinstance(everything, list)
    assert [(c["name"], c["money"]) for c in everything] == [("Camilo", "1500.50"),
                                                             ("Ana María", "0.01")]
    assert all(set(c) == {"id", "name", "money"} for c in everything)


def test_legacy_add_accepts_form_body(client):
    resp = client.post("/add", data={"name": "Form", "money": "2"})
    assert resp.status_code == 201
    assert client.get("/get/%d" % resp.get_json()["id"]).get_json()["money"] == "2.00"


def test_legacy_getall_empty(client):
    resp = client.get("/getall")
    assert resp.status_code == 200
    assert resp.get_json() == []


@pytest.mark.parametrize("qs, field", [
    ("money=1", "name"), ("name=a", "money"), ("name=&money=1", "name"),
    ("name=a&money=1.001", "money"), ("name=a&money=NaN", "money"), ("name=a&money=", "money"),
    ("name=%s&money=1" % ("x" * 101), "name"), ("name=a%00b&money=1", "name"),
    ("name=a&money=%FF", "money"),
])
def test_legacy_add_bad_input(client, qs, field):
    assert_400(client.post("/add?" + qs), field)


@pytest.mark.parametrize("qs, field", [
    ("name=%ff%fe&money=1", "name"), ("name=a%C3&money=1", "name"),
    ("name=%ED%A0%80&money=1", "name"), ("name=ok&money=1%ff", "money"),
    ("name=\xff\xfe&money=1", "name"),
])
def test_legacy_add_refuses_invalid_utf8(client, store, qs, field):
    # POST /clients answers 400 for invalid UTF-8; the legacy route must not store the
    # bytes re-quoted as text ("%FF%FE").
    raw = qs.encode("latin-1")  # "\xff" is sent as the raw byte 0xFF
    # WSGI carries the query string as latin-1 text: each byte as one code point
    for resp in (client.post("/add", environ_overrides={"QUERY_STRING": raw.decode("latin-1")}),
                 client.post("/add", data=raw,
                             content_type="application/x-www-form-urlencoded")):
        body = assert_400(resp, field)
        assert "UTF-8" in body["error"]
    assert store.all() == []


def test_legacy_add_accepts_utf8_percent_encoding(client):
    resp = client.post("/add?name=Ana%20Mar%C3%ADa&money=1")
    assert resp.status_code == 201
    assert client.get("/get/%d" % resp.get_json()["id"]).get_json()["name"] == "Ana María"


def test_legacy_get_unknown(client):
    assert client.get("/get/424242").status_code == 404


# ----------------------------------------------------------------------- concurrency

def test_concurrent_inserts_via_app(app, store):
    errors = []

    def worker(i):
        try:
            resp = app.test_client().post("/clients", json={"name": "t%d" % i, "money": "1.11"})
            if resp.status_code != 201:
                errors.append(resp.data)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = store.all()
    assert len(rows) == 40
    assert sum(r["money"] for r in rows) == Decimal("44.40")


def test_list_json_rendered_by_storage_matches_client_json(client, store):
    """/clients and /getall are rendered by the storage layer (in PostgreSQL: format() and
    to_json()); every item must equal what GET /clients/<id> (Flask's jsonify) says."""
    names = ['quote " and \\ backslash', "emoji 😀 é 李", "tab\u00a0nbsp", "</script>",
             "\u2028line sep", "%s %%s {}"]
    moneys = ["-999999999999.99", "0", "-0.01", "123456789012.34", "7.5", "-3"]
    ids = [post(client, {"name": n, "money": m}).get_json()["id"] for n, m in zip(names, moneys)]
    singles = [client.get("/clients/%d" % i).get_json() for i in ids]
    assert [c["money"] for c in singles] == ["-999999999999.99", "0.00", "-0.01",
                                             "123456789012.34", "7.50", "-3.00"]
    page = client.get("/clients?limit=4")
    assert page.mimetype == "application/json"
    first = page.get_json()
    rest = client.get("/clients?cursor=" + first["next_cursor"]).get_json()
    assert first["items"] + rest["items"] == singles and rest["next_cursor"] is None
    assert client.get("/getall").get_json() == singles
