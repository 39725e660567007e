"""Property tests: no client input produces a 500 (or anything outside the documented set)."""
import json
from decimal import Decimal
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_scalars = (st.none() | st.booleans() | st.integers() | st.text(max_size=30)
                | st.floats(allow_nan=True, allow_infinity=True)
                | st.decimals(allow_nan=False, allow_infinity=False, places=None))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                           max_leaves=10)
names = st.text(max_size=120) | json_values
money = (st.decimals(allow_nan=True, allow_infinity=True)
         | st.decimals(min_value=-10 ** 13, max_value=10 ** 13, places=2).map(str)
         | st.text(alphabet="0123456789.-+eE ", max_size=20) | json_values)


def dumps(value):
    return json.dumps(value, default=str)


def check(resp, allowed):
    assert resp.status_code in allowed, (resp.status_code, resp.data[:300])
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    if resp.status_code == 400:
        assert isinstance(body["error"], str) and body["error"]
        assert "field" in body
    return body


def raw_number(value):
    """Emit a Decimal as a bare JSON number token (NaN/Infinity as JS-style literals)."""
    if isinstance(value, Decimal):
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "Infinity" if value > 0 else "-Infinity"
        return str(value)
    return dumps(value)


@FUZZ
@given(name=names, money=money, extra=st.dictionaries(st.text(max_size=5), json_scalars,
                                                      max_size=2))
def test_fuzz_create(client, name, money, extra):
    fields = ['"name": %s' % dumps(name), '"money": %s' % raw_number(money)]
    fields += ["%s: %s" % (dumps(k), dumps(v)) for k, v in extra.items()]
    body = check(client.post("/clients", data="{%s}" % ", ".join(fields),
                             content_type="application/json"), {201, 400})
    if "id" in body:
        assert Decimal(body["money"]) == Decimal(str(money).strip())
        assert body["name"] == json.loads(dumps(name)).strip()  # Decimals are sent as strings


# JSON number tokens that parse as JSON but not as a bounded Decimal: exponents far beyond
# what decimal can hold (about +-10**18), tiny and huge mantissas, signed zeros.
number_tokens = st.builds(
    lambda sign, mantissa, e, exponent: "%s%s%s%d" % (sign, mantissa, e, exponent),
    st.sampled_from(["", "-"]),
    st.sampled_from(["0", "1", "9", "0.0", "1.5", "12345678901234567890"]),
    st.sampled_from(["e", "E", "e+", "E-", "e-"]),
    st.integers(min_value=0, max_value=10 ** 30) | st.integers(min_value=0, max_value=40),
)


@FUZZ
@given(money_token=number_tokens, other=number_tokens,
       slot=st.sampled_from(["none", "name", "extra", "nested"]))
def test_fuzz_unbounded_json_numbers(client, money_token, other, slot):
    name = {"name": other}.get(slot, '"n"')
    extra = {"extra": ', "x": %s' % other, "nested": ', "x": [{"y": %s}]' % other}.get(slot, "")
    body = '{"name": %s, "money": %s%s}' % (name, money_token, extra)
    data = check(client.post("/clients", data=body, content_type="application/json"),
                 {201, 400})
    if "id" in data:
        assert slot == "none"
        assert Decimal(data["money"]) == Decimal(money_token)


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda s: s.encode("utf-8")),
       content_type=st.sampled_from([None, "application/json", "text/plain",
                                     "application/x-www-form-urlencoded", "multipart/form-data",
                                     "application/json; charset=latin-1", "application/x+json",
                                     "multipart/form-data; boundary=x", "\u00e9/\u00e9"]))
def test_fuzz_raw_bodies(client, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    check(client.post("/clients", data=raw, headers=headers), {201, 400})
    check(client.post("/add", data=raw, headers=headers), {201, 400})


@FUZZ
@given(segment=st.text(min_size=1, max_size=60) | st.integers().map(str))
def test_fuzz_ids(client, segment):
    path = quote(segment, safe="")
    for prefix in ("/clients/", "/get/"):
        resp = client.get(prefix + path)
        assert resp.status_code in {200, 400, 404}, (segment, resp.status_code)
        assert resp.mimetype == "application/json"


@FUZZ
@given(limit=st.none() | st.text(max_size=12) | st.integers().map(str),
       cursor=st.none() | st.text(max_size=40) | st.binary(max_size=30).map(
           lambda b: "c1_" + __import__("base64").urlsafe_b64encode(b).decode()))
def test_fuzz_paging(client, limit, cursor):
    params = {}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    check(client.get("/clients", query_string=params), {200, 400})


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["name", "money", "x"]),
                              st.text(max_size=30) | st.decimals().map(str), max_size=3))
def test_fuzz_legacy_add(client, params):
    check(client.post("/add", query_string=params), {201, 400})
