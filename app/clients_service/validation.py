"""Input validation.  Every function raises ValidationError (-> HTTP 400) on bad input."""
import base64
import binascii
import json
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

MONEY_MAX = Decimal("999999999999.99")  # NUMERIC(14,2): 12 integer digits, 2 decimals
MONEY_QUANT = Decimal("0.01")
NAME_MAX = 100
LIMIT_DEFAULT = 100
LIMIT_MAX = 1000
ID_MAX = 2 ** 63 - 1  # BIGINT / SQLite INTEGER
_MONEY_STRING = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_MAX_NUMBER_TEXT = 64  # longer numeric strings are rejected before conversion
CURSOR_PREFIX = "c1_"


class ValidationError(Exception):
    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


class NotFound(Exception):
    """An id that is well-formed but cannot exist (e.g. beyond BIGINT)."""


def _reject_constant(name):
    # json.loads calls this for NaN / Infinity / -Infinity; keep them so the money
    # validator can name the field.
    return Decimal(name)


class HugeNumber:
    """A JSON number whose exponent Decimal cannot hold (e.g. ``1e99999999999999999999``).

    JSON puts no limit on exponents; Decimal raises decimal.InvalidOperation beyond about
    10**18.  The parser keeps such numbers as this marker so that the field they sit in
    is rejected with a 400 naming it, instead of the conversion error escaping as a 500.
    """

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def _parse_number(text):
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation: exponent beyond the C limits
        return HugeNumber(text)


def parse_json_body(raw: bytes):
    """Parse a JSON request body without ever producing a float."""
    if not raw:
        raise ValidationError("body", "request body is empty: send a JSON object "
                                      "like {\"name\": \"Ada\", \"money\": \"12.50\"}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("body", "request body is not valid UTF-8") from None
    try:
        return json.loads(text, parse_float=_parse_number, parse_int=_parse_number,
                          parse_constant=_reject_constant)
    except RecursionError:
        raise ValidationError("body", "request body JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and int/Decimal conversion errors
        raise ValidationError("body", "request body is not valid JSON: %s" % exc) from None


def _bad_money(detail):
    return ValidationError(
        "money", "money %s; it must be a decimal number with at most 2 decimal places "
                 "between -999999999999.99 and 999999999999.99, given as a JSON string "
                 "like \"12.50\" or a JSON number" % detail)


def parse_money(value) -> Decimal:
    """Accept a str (plain decimal notation) or a Decimal from the JSON parser.

    Returns a Decimal quantized to 2 places.  Never goes through float.
    """
    if value is None:
        raise _bad_money("is required")
    if isinstance(value, bool):
        raise _bad_money("must not be a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise _bad_money("must not be empty")
        if len(text) > _MAX_NUMBER_TEXT or not _MONEY_STRING.match(text):
            raise _bad_money("is not a plain decimal number (got %s)" % _short(value))
        number = Decimal(text)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, HugeNumber):
        raise _bad_money("is out of range")
    else:
        raise _bad_money("must be a string or a number, not %s" % _json_type(value))
    if not number.is_finite():
        raise _bad_money("must be finite (NaN and Infinity are not allowed)")
    exponent = number.as_tuple().exponent
    if exponent < -2:
        raise _bad_money("has more than 2 decimal places")
    if number.copy_abs() > MONEY_MAX:  # copy_abs: no context, cannot overflow
        raise _bad_money("is out of range")
    number = number.quantize(MONEY_QUANT)
    if number == 0:
        number = Decimal("0.00")  # no negative zero
    return number


def format_money(value):
    """Decimal (or integer cents, see storage) -> canonical string with 2 decimals; None (a
    NULL in an adopted legacy table) -> None.  Values the API stored have 2 decimals already;
    a legacy table's may have more, and they round half up, as PostgreSQL's numeric does
    for the stored JSON of the list routes (storage migration 3), so both routes agree."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(value)
    value = value.quantize(MONEY_QUANT, rounding=ROUND_HALF_UP)
    if value == 0:
        value = Decimal("0.00")
    return "{:f}".format(value)


def parse_name(value) -> str:
    if value is None:
        raise ValidationError("name", "name is required: a string of 1 to 100 characters")
    if not isinstance(value, str):
        raise ValidationError("name", "name must be a string of 1 to 100 characters, not %s"
                              % _json_type(value))
    name = value.strip()
    if not name:
        raise ValidationError("name", "name must not be empty or only whitespace "
                                      "(1 to 100 characters after trimming)")
    if len(name) > NAME_MAX:
        raise ValidationError("name", "name is too long: %d characters, at most 100 allowed "
                                      "after trimming" % len(name))
    for ch in name:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            raise ValidationError("name", "name must not contain control characters "
                                          "(found U+%04X)" % ord(ch))
        if cat == "Cs":
            raise ValidationError("name", "name must not contain unpaired surrogates "
                                          "(found U+%04X)" % ord(ch))
    return name


def parse_id(text: str) -> int:
    """Path ids: ASCII digits only; 400 otherwise, NotFound if beyond BIGINT (any length:
    gunicorn's request-line limit bounds it)."""
    if not _DIGITS.match(text):
        raise ValidationError("id", "id must be a positive integer (ASCII digits), got %s"
                              % _short(text))
    significant = text.lstrip("0")
    if len(significant) > len(str(ID_MAX)):  # never int() thousands of digits
        raise NotFound()
    value = int(significant or "0")
    if value < 1 or value > ID_MAX:
        raise NotFound()
    return value


def parse_limit(text) -> int:
    if text is None:
        return LIMIT_DEFAULT
    if len(text) > 10 or not _DIGITS.match(text) or not 1 <= int(text) <= LIMIT_MAX:
        raise ValidationError("limit", "limit must be an integer between 1 and %d, got %s"
                              % (LIMIT_MAX, _short(text)))
    return int(text)


def encode_cursor(last_id: int) -> str:
    # b'{"after":<id>}': what json.dumps({"after": id}, separators=(",", ":")) gives for an
    # int, without its encoder's cost on every page.
    payload = b'{"after":%d}' % last_id
    return CURSOR_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(text):
    """Opaque cursor -> last seen id (0 = from the start)."""
    if text is None:
        return 0
    bad = ValidationError("cursor", "cursor is invalid: pass back the next_cursor value "
                                    "from a previous GET /clients response unchanged")
    if not text.startswith(CURSOR_PREFIX) or len(text) > 100:
        raise bad
    body = text[len(CURSOR_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise bad from None
    if not isinstance(data, dict) or set(data) != {"after"}:
        raise bad
    after = data["after"]
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= ID_MAX:
        raise bad
    return after


def _short(value, limit=40):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _json_type(value):
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, Decimal, HugeNumber)):
        return "a number"
    return type(value).__name__


__all__ = ["ValidationError", "NotFound", "parse_json_body", "parse_money", "format_money",
           "parse_name", "parse_id", "parse_limit", "encode_cursor", "decode_cursor"]
