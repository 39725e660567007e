"""Clients service: a small Flask app served the same way on Elastic Beanstalk, ECS and EKS."""
import json
import logging
import socket
import time
from urllib.parse import parse_qsl

from flask import Flask, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map

from . import validation as v
from .config import RELEASE_INVALID, app_release, resolve_settings
from .storage import IDEMPOTENCY_TTL_S, DatabaseUnavailable, IdempotencyConflict, make_store

__all__ = ["create_app"]

TIME_MESSAGE = "Automation for the People"
MAX_BODY_BYTES = 64 * 1024
_BODY_FIELDS = ("name", "money")

log = logging.getLogger("clients_service")


def _client_json(client):
    # money is emitted as a string ("12.50"): JSON numbers are doubles in most clients.
    return {"id": client["id"], "name": client["name"], "money": v.format_money(client["money"])}


def _json_response(text):
    # For JSON the storage layer already rendered (page_json / all_json).
    return current_app.response_class(text.encode("utf-8"), mimetype="application/json")


def _list_body(store, limit_text, cursor_text):
    """GET /clients: the response body for these query values (raises ValidationError before
    any database call, DatabaseUnavailable from it)."""
    limit = v.parse_limit(limit_text)
    after = v.decode_cursor(cursor_text)
    items, last_id, has_more = store.page_json(after, limit)
    # A cursor is CURSOR_PREFIX and base64url: JSON string as it is, no escaping to do.
    next_cursor = '"%s"' % v.encode_cursor(last_id) if has_more else "null"
    return ('{"items":[%s],"next_cursor":%s}\n' % (items, next_cursor)).encode()


# Set by _FastRoutes when its GET /clients call failed: the Flask view raises it, so the error
# answer is the one Flask's handlers give, without calling the database a second time.
_LIST_ERROR = "clients_service.list_error"
_LIST_PARAMS = ("limit", "cursor")
_PLAIN_VALUE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~=")


def _plain_list_params(query):
    """``{"limit": ..., "cursor": ...}`` from a query string made only of those keys, each at
    most once, with values that need no decoding (no ``%``, no ``+``); else None, and Flask
    parses it.  For such strings this is what ``request.args.get`` returns."""
    params = {}
    if query:
        for part in query.split("&"):
            key, eq, value = part.partition("=")
            if not eq or key not in _LIST_PARAMS or key in params \
                    or not _PLAIN_VALUE.issuperset(value):
                return None
            params[key] = value
    return params


def _error(code, message, field=None, **extra):
    body = {"error": message}
    if field is not None or code == 400:
        body["field"] = field
    body.update(extra)
    response = jsonify(body)
    response.status_code = code
    return response


def _too_large():
    return RequestEntityTooLarge("request body is larger than %d bytes" % MAX_BODY_BYTES)


class _BoundedInput:
    """``wsgi.input`` that raises 413 as soon as more than ``limit`` bytes come through.

    A chunked body has no Content-Length to check up front, and one ``read(n)`` on
    gunicorn's chunked reader returns at most one chunk, so the limit has to be counted on
    the stream itself.  Werkzeug's own max_content_length stream (``LimitedStream`` with
    ``is_max``) raises on any read attempt after exactly ``limit`` bytes, even when the body
    ends there, and ``get_data()`` silently truncates at the limit; this one reads at most
    one byte past the limit to tell the two apart.
    """

    def __init__(self, stream, limit):
        self._stream = stream
        self._left = limit + 1  # bytes we may still read, including the one that overflows

    def _take(self, data):
        self._left -= len(data)
        if self._left <= 0:
            raise _too_large()
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while True:
                part = self.read(64 * 1024)
                if not part:
                    return b"".join(parts)
                parts.append(part)
        return self._take(self._stream.read(min(size, self._left)))

    def readline(self, size=-1):
        size = self._left if size is None or size < 0 else min(size, self._left)
        return self._take(self._stream.readline(size))

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def _bound_request_body():
    """Call before the first use of request.stream / request.form (werkzeug builds both
    lazily from ``wsgi.input``) in a view that reads the body."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _too_large()
    if not isinstance(request.environ["wsgi.input"], _BoundedInput):
        request.environ["wsgi.input"] = _BoundedInput(request.environ["wsgi.input"],
                                                      MAX_BODY_BYTES)


def _read_body():
    _bound_request_body()
    parts = []
    while True:  # read() may return less than asked (one chunk of a chunked body)
        part = request.stream.read(64 * 1024)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _idempotency_key():
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not all("\x21" <= ch <= "\x7e" for ch in key):
        raise v.ValidationError("Idempotency-Key", "Idempotency-Key must be 1 to 255 visible "
                                                   "ASCII characters (e.g. a UUID)")
    return key


def _create(name, money):
    """-> (client, response headers); honours an Idempotency-Key header."""
    store = current_app.extensions["clients_store"]
    key = _idempotency_key()
    if key is None:
        return store.create(name, money), {}
    client, replayed = store.create(name, money, key=key)
    return client, ({"Idempotent-Replayed": "true"} if replayed else {})


def _json_object_body():
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise v.ValidationError(
            "content_type", "Content-Type must be application/json, got %s"
            % (repr(request.content_type) if request.content_type else "none"))
    data = v.parse_json_body(_read_body())
    if not isinstance(data, dict):
        raise v.ValidationError("body", "request body must be a JSON object with the fields "
                                        "name and money, not %s" % v._json_type(data))
    for key in data:
        if key not in _BODY_FIELDS:
            raise v.ValidationError(key[:100], "unknown field %s: only name and money are "
                                               "accepted" % v._short(key))
    return data


def _strict_form_pairs(raw: bytes) -> dict:
    """First value of each key of an application/x-www-form-urlencoded string (a query
    string or a form body), keeping invalid UTF-8 detectable.

    Werkzeug re-quotes undecodable bytes (``%ff`` -> the text ``"%FF"``, codec error
    handler ``werkzeug.url_quote``), so they would be stored as if the client had sent
    that text.  Here they become lone surrogates (``surrogateescape``) and are refused.
    """
    text = raw.decode("utf-8", "surrogateescape")
    out = {}
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8",
                                errors="surrogateescape"):
        out.setdefault(key, value)
    return out


def _require_utf8(field, value):
    if value is not None and any("\udc80" <= ch <= "\udcff" for ch in value):
        raise v.ValidationError(field, "%s is not valid UTF-8: percent-encoded bytes must "
                                       "form UTF-8 text" % field)
    return value


class _FastRoutes:
    """WSGI middleware answering ``GET /time``, ``GET /health`` and ``GET /clients`` without
    Flask.

    /health is polled by load balancers and orchestrators, /time is the demo route and
    /clients the busiest API route.  A profile of one gunicorn worker put Flask's request
    context, routing and response object at most of the app's own time for /time and /health,
    and at about a third of a worker's CPU per /clients request.  The bytes are those of the
    Flask routes below (same JSON and headers; a test compares them).  GET /clients is taken
    here only when its query string is plain (_plain_list_params) and the call succeeds; a
    validation error goes to Flask unchanged (nothing was called yet), any other error goes
    to Flask under _LIST_ERROR for its error handlers.  Every other method, path or a request
    with a body goes to Flask unchanged.
    """

    def __init__(self, flask_app, wsgi_app, health):
        self._store = flask_app.extensions["clients_store"]
        self._dumps = flask_app.json.dumps
        self._next = wsgi_app
        self._health = self._body(health)
        self._health_length = str(len(self._health))

    def _body(self, obj):
        # what flask.json.provider.DefaultJSONProvider.response renders outside debug mode
        return (self._dumps(obj, separators=(",", ":")) + "\n").encode()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and not environ.get("CONTENT_LENGTH") \
                and "HTTP_TRANSFER_ENCODING" not in environ:
            path = environ.get("PATH_INFO")
            if path == "/time":
                body = self._body({"message": TIME_MESSAGE, "timestamp": int(time.time())})
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
                return [body]
            if path == "/health":
                start_response("200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", self._health_length)])
                return [self._health]
            if path == "/clients":
                params = _plain_list_params(environ.get("QUERY_STRING"))
                if params is not None:
                    try:
                        body = _list_body(self._store, params.get("limit"),
                                          params.get("cursor"))
                    except v.ValidationError:
                        pass
                    except Exception as exc:
                        environ[_LIST_ERROR] = exc
                    else:
                        start_response("200 OK", [("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(body)))])
                        return [body]
        return self._next(environ, start_response)


class _Map(Map):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("merge_slashes", False)  # "/clients//1" is a 404, not a redirect
        super().__init__(*args, **kwargs)


class _Flask(Flask):
    url_map_class = _Map


def create_app(settings=None, store=None, release=None):
    """Application factory.  ``settings`` defaults to the environment (see config.py);
    ``release`` (what /health reports) to APP_RELEASE (config.app_release)."""
    app = _Flask(__name__)
    health_body = {"status": "ok", "release": app_release() if release is None else release}
    # No MAX_CONTENT_LENGTH: the views that read a body enforce MAX_BODY_BYTES on the
    # stream, for Content-Length and chunked bodies alike (_bound_request_body).
    app.json.sort_keys = False
    if store is None:
        settings = settings or resolve_settings()
        store = make_store(settings)
    app.extensions["clients_store"] = store
    log.info("storage backend: %s", store.settings.describe())
    log.info("release: %s", health_body["release"])
    if health_body["release"] == RELEASE_INVALID:
        log.warning("APP_RELEASE is not a release label (letters, digits and ._:@+-, at most 128); "
                    "/health reports %r", RELEASE_INVALID)
    hostname = socket.gethostname()

    # -- errors ----------------------------------------------------------------------------
    @app.errorhandler(v.ValidationError)
    def _validation(exc):
        return _error(exc.status, exc.message, exc.field)

    @app.errorhandler(v.NotFound)
    def _not_found(exc):
        return _error(404, "client not found")

    @app.errorhandler(IdempotencyConflict)
    def _idempotency_conflict(exc):
        return _error(409, "Idempotency-Key was already used with a different name or money "
                           "(keys are remembered for %d hours)" % (IDEMPOTENCY_TTL_S // 3600),
                      field="Idempotency-Key")

    @app.errorhandler(DatabaseUnavailable)
    def _db_down(exc):
        response = _error(503, "database unavailable", reason=exc.reason)
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def _http(exc):
        response = exc.get_response()  # keeps headers such as Allow on 405
        response.set_data(json.dumps({"error": exc.description or exc.name}, separators=(",", ":")))
        response.mimetype = "application/json"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error(500, "internal server error")

    # -- service routes --------------------------------------------------------------------
    @app.get("/")
    def index():
        return jsonify(hostname=hostname)

    @app.get("/time")
    def time_payload():
        return jsonify(message=TIME_MESSAGE, timestamp=int(time.time()))

    @app.get("/health")
    def health():
        return jsonify(health_body)

    @app.get("/ready")
    def ready():
        try:
            store.ping()
        except DatabaseUnavailable as exc:
            return _error(503, "database unavailable", status="unavailable", reason=exc.reason)
        return jsonify(status="ready", database=store.backend)

    # -- clients API -----------------------------------------------------------------------
    @app.get("/clients")
    def list_clients():
        error = request.environ.pop(_LIST_ERROR, None)
        if error is not None:
            raise error
        return current_app.response_class(
            _list_body(store, request.args.get("limit"), request.args.get("cursor")),
            mimetype="application/json")

    @app.post("/clients")
    def create_client():
        data = _json_object_body()
        name = v.parse_name(data.get("name"))
        money = v.parse_money(data.get("money"))
        client, headers = _create(name, money)
        response = jsonify(_client_json(client))
        response.status_code = 201
        response.headers.update(headers)
        response.headers["Location"] = url_for("get_client", raw_id=client["id"])
        return response

    @app.get("/clients/<raw_id>")
    def get_client(raw_id):
        client = store.get(v.parse_id(raw_id))
        if client is None:
            raise v.NotFound()
        return jsonify(_client_json(client))

    # -- legacy routes (EKS source document) -----------------------------------------------
    @app.get("/getall")
    def legacy_getall():
        return _json_response("[%s]\n" % store.all_json())

    @app.post("/add")
    def legacy_add():
        query = _strict_form_pairs(request.query_string)
        if request.mimetype == "application/x-www-form-urlencoded":
            form = _strict_form_pairs(_read_body())
        elif request.mimetype == "multipart/form-data":
            _bound_request_body()
            form = request.form  # werkzeug decodes these parts with errors="replace"
        else:
            form = {}

        def param(key):
            value = query.get(key)
            if value is None:
                value = form.get(key)
            return _require_utf8(key, value)

        name = v.parse_name(param("name"))
        money = v.parse_money(param("money"))
        client, headers = _create(name, money)
        response = jsonify(id=client["id"])
        response.status_code = 201
        response.headers.update(headers)
        response.headers["Location"] = url_for("get_client", raw_id=client["id"])
        return response

    @app.get("/get/<raw_id>")
    def legacy_get(raw_id):
        return get_client(raw_id)

    app.wsgi_app = _FastRoutes(app, app.wsgi_app, health_body)
    return app
