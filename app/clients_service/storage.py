"""Storage backends: PostgreSQL (psycopg 3 + psycopg_pool) and an embedded SQLite fallback.

Both expose the same small interface used by the routes:

    ensure_schema()      idempotent migration, safe across processes
    ping()               cheap readiness probe
    create(name, money)  -> client dict
    get(client_id)       -> client dict or None
    page(after, limit)   -> (clients, has_more)
    page_json(after, limit) -> (JSON text of the clients, comma-separated, last id, has_more)
    all()                -> list of client dicts
    all_json()           -> JSON text of every client, comma-separated
    close()

A client dict is ``{"id": int, "name": str, "money": Decimal}``.
Any failure to reach the database raises DatabaseUnavailable (-> HTTP 503).
"""
import json
import logging
import os
import select
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

log = logging.getLogger("clients_service.storage")

# Advisory lock key for migrations: ASCII "clients" as a 64-bit integer.
MIGRATION_LOCK_KEY = int.from_bytes(b"clients", "big")


class DatabaseUnavailable(Exception):
    def __init__(self, reason, connection_lost=False):
        super().__init__(reason)
        self.reason = reason
        self.connection_lost = connection_lost


class _Watchdog:
    """Client-side deadlines for database calls: one thread per process.

    A server that stops answering without closing its connections (SIGSTOPped, a
    black-holed network, a stuck failover) never trips the server's statement_timeout,
    and TCP keepalives / tcp_user_timeout cannot see it either when the peer's kernel still
    acknowledges (e.g. a stopped process on loopback).  So when a call passes its deadline
    the watchdog (1) asks the server to cancel the query, from a separate thread because
    libpq < 17's PQcancel blocks with no timeout on a frozen postmaster, and (2) shuts the
    connection's socket down: the thread blocked in libpq sees EOF at once and gets an
    OperationalError; the connection is then broken and the pool discards it.
    shutdown() (on a dup of the fd) rather than close(): the fd stays valid for libpq, so
    it cannot be reused by another socket under its feet.

    The thread polls every TICK seconds instead of being notified: waking it on each call
    cost a GIL hand-off per request (about 1.8 ms, seen in a profile).  Deadlines are
    seconds long, so they fire at most TICK late.

    With libpq >= 17 (psycopg-binary bundles one) the cancel request is libpq's non-blocking
    one (PQcancelStart/PQcancelPoll, what Connection.cancel_safe uses), bounded by
    CANCEL_TIMEOUT: psycopg-binary's PGcancel.cancel() calls the blocking PQcancel without
    releasing the GIL (psycopg_binary/pq/pgcancel.pyx, no ``with nogil``), so on a frozen
    postmaster it would stop every thread of the worker, /health included; pure-Python
    psycopg calls it through ctypes, which releases the GIL.
    """

    TICK = 0.25
    MAX_CANCEL_THREADS = 4  # beyond these, the server's statement_timeout cleans up
    CANCEL_TIMEOUT = 5.0

    def __init__(self):
        self._lock = threading.Lock()
        self._armed = {}  # id -> [deadline, conn, fired]
        self._next_id = 0
        self._pid = None
        self._cancelling = 0

    @contextmanager
    def watch(self, conn, seconds):
        entry = [time.monotonic() + seconds, conn, False]
        with self._lock:
            if self._pid != os.getpid():
                # Lazily, per process: a thread does not survive gunicorn's fork().
                self._pid = os.getpid()
                self._armed.clear()
                threading.Thread(target=self._run, name="db-deadlines", daemon=True).start()
            self._next_id += 1
            key = self._next_id
            self._armed[key] = entry
        try:
            yield entry
        finally:
            with self._lock:  # after this, the watchdog no longer touches conn
                del self._armed[key]

    def _run(self):
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                for entry in self._armed.values():
                    if not entry[2] and entry[0] <= now:
                        entry[2] = True
                        # Under the lock: the request thread cannot hand conn back to the
                        # pool meanwhile.  Nothing here blocks.
                        self._abort(entry[1])

    def _abort(self, conn):
        from psycopg import capabilities
        try:
            if capabilities.has_cancel_safe():
                cancel = conn.pgconn.cancel_conn()  # PQcancelCreate: copies what it needs
            else:
                cancel = conn.pgconn.get_cancel()
        except Exception:
            cancel = None
        if cancel is not None and self._cancelling < self.MAX_CANCEL_THREADS:
            self._cancelling += 1
            threading.Thread(target=self._cancel, args=(cancel,), name="db-cancel",
                             daemon=True).start()
        try:
            sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
        except Exception:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()

    def _cancel(self, cancel):
        try:
            if hasattr(cancel, "start"):  # PGcancelConn (libpq >= 17)
                from psycopg import generators, waiting
                try:
                    cancel.start()
                    waiting.wait_conn(generators.cancel(cancel), timeout=self.CANCEL_TIMEOUT)
                finally:
                    cancel.finish()
            else:
                cancel.cancel()
        except Exception:
            pass
        finally:
            with self._lock:
                self._cancelling -= 1


class _FailFast:
    """While the database is failing, let one request per process probe it and answer the
    others 503 at once, so that worker threads are not all held for the full deadline
    and /health (which needs a free thread, not the database) keeps being answered."""

    def __init__(self):
        self._lock = threading.Lock()
        self.failing = False
        self._probing = False

    @contextmanager
    def guard(self):
        probe = False
        if self.failing:  # unlocked read on the fast path; decided under the lock
            with self._lock:
                if self.failing:
                    if self._probing:
                        raise DatabaseUnavailable("database unavailable: recent calls failed "
                                                  "and another request is checking it")
                    self._probing = probe = True
        ok = False
        try:
            yield
            ok = True
        except DatabaseUnavailable:
            self.failing = True
            raise
        finally:
            if probe or (ok and self.failing):
                with self._lock:
                    if probe:
                        self._probing = False
                    if ok:
                        self.failing = False


# version, description, statements for PostgreSQL, statements for SQLite.
# Append new migrations; never edit an applied one.
MIGRATIONS = [
    (
        1,
        "create clients",
        [
            """CREATE TABLE IF NOT EXISTS clients (
                   id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                   name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
                   money numeric(14, 2) NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT now()
               )""",
        ],
        [
            # SQLite has no exact decimal type: money is stored as integer cents.
            """CREATE TABLE IF NOT EXISTS clients (
                   id INTEGER PRIMARY KEY AUTOINCREMENT,
                   name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                   money_cents INTEGER NOT NULL,
                   created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
               )""",
        ],
    ),
]
MIGRATIONS.append((
    2,
    "idempotency keys",
    [
        # No foreign key to clients: the test fixtures TRUNCATE clients alone.
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
               key text PRIMARY KEY,
               fingerprint text NOT NULL,
               client_id bigint NOT NULL,
               created_at timestamptz NOT NULL DEFAULT now()
           )""",
        "CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)",
    ],
    [
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
               key TEXT PRIMARY KEY,
               fingerprint TEXT NOT NULL,
               client_id INTEGER NOT NULL,
               created_at INTEGER NOT NULL
           )""",
        "CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)",
    ],
))
MIGRATIONS.append((
    3,
    "stored JSON of each client",
    [
        # GET /clients and /getall send this text as it is (page_json / all_json): the JSON
        # of a client is rendered once, when the row is written, not on every read.  Same
        # shape as the API's client JSON (__init__._client_json): money a string with
        # exactly 2 decimals (numeric(14,2)::text never has an exponent or "-0.00").
        # A generated column cannot call to_json() directly, which is declared STABLE
        # because it accepts any type; for text its result depends on the value alone, so
        # this wrapper may say IMMUTABLE.  Schema-qualified: no search_path is consulted.
        """CREATE OR REPLACE FUNCTION clients_json_string(value text) RETURNS text
               LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
               AS $$ SELECT pg_catalog.to_json(value)::pg_catalog.text $$""",
        # Adding a STORED column rewrites the table under an ACCESS EXCLUSIVE lock (reads
        # and writes wait; seconds for a million rows).  Code from before this migration
        # keeps working against the new table (it never names the column), so a revert
        # needs no down-migration.
        # money::numeric(14,2) is a no-op for the table migration 1 creates, and renders an
        # adopted legacy table's money (another numeric or a float) the way format_money
        # does.  coalesce(): such a table may also hold NULLs, which must give valid JSON
        # (null) rather than a NULL item that array_to_string would silently skip.
        """ALTER TABLE clients ADD COLUMN IF NOT EXISTS item_json text NOT NULL
               GENERATED ALWAYS AS (
                   '{"id":' || id::text
                   || ',"name":' || coalesce(clients_json_string(name), 'null')
                   || ',"money":' || coalesce('"' || money::numeric(14, 2)::text || '"', 'null')
                   || '}') STORED""",
    ],
    [],  # SQLite renders the JSON in Python (_json_items)
))
SCHEMA_VERSION = MIGRATIONS[-1][0]

# An Idempotency-Key is remembered this long (README); afterwards it may be reused.
IDEMPOTENCY_TTL_S = 24 * 3600


class MigrationDeferred(Exception):
    """A migration failed recently (in any process) without losing its connection; the next
    attempt is not before ``seconds`` from now (schema_migration_retry)."""

    def __init__(self, seconds, reason):
        super().__init__("%s; next try in %ds" % (reason, seconds))
        self.seconds = seconds
        self.reason = reason


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request (-> HTTP 409)."""


def request_fingerprint(name, money):
    import hashlib
    return hashlib.sha256(("%s\n%s" % (name, money)).encode("utf-8", "surrogatepass")
                          ).hexdigest()


def _row(client_id, name, money):
    return {"id": int(client_id), "name": name, "money": money}


class _SchemaOnce:
    """Run a migration once per process; retry later if it failed (e.g. DB down).

    One attempt at a time; threads that arrive while it runs wait for that attempt and get
    its outcome (its error, instead of each retrying in turn, which would make the last of
    them wait N x the connect timeout).  The waiters wait on the attempt's own Event, not
    on a lock held across fn(): CPython's locks are not fair, and with one held across
    the attempt, the fail-fast probe (the thread whose request had just failed, on its
    next request) re-took it within a millisecond of its release, before the woken
    waiters ran; on a frozen database they then waited several 2 s connect timeouts
    (GET/POST /clients answering 503 after 6-12 s in a worker whose first request came
    after the freeze)."""

    def __init__(self):
        self._lock = threading.Lock()  # guards _attempt; never held while fn() runs
        self.done = False
        self._attempt = None  # the attempt under way: (threading.Event, [exception])

    def run(self, fn):
        if self.done:
            return
        with self._lock:
            if self.done:
                return
            attempt = self._attempt
            lead = attempt is None
            if lead:
                attempt = self._attempt = (threading.Event(), [None])
        finished, error = attempt
        if not lead:
            finished.wait()
            if error[0] is not None:
                raise error[0]
            return
        try:
            fn()
            self.done = True
        except BaseException as exc:
            error[0] = exc
            raise
        finally:
            with self._lock:
                self._attempt = None
            finished.set()


# --------------------------------------------------------------------------- PostgreSQL

def migrate_postgres(conninfo, lock_timeout_s=60, watchdog=None, table_lock_timeout_s=2,
                     retry_after_lock_s=30, retry_after_error_s=300):
    """Apply pending migrations under a session-level advisory lock.

    Many processes may call this at once: the first takes the lock and migrates, the others
    wait for the lock, then find nothing left to do.  Returns the versions it applied.
    With a ``watchdog``, the whole migration gets a client-side deadline (lock wait + 5 s).

    Inside a migration, waiting for a lock on a table gives up after
    ``table_lock_timeout_s`` (lock_timeout): an ALTER TABLE waiting behind another
    session's open transaction would otherwise queue every query on the table behind it
    for up to ``lock_timeout_s``.  The migration then fails (logged with the reason).

    A migration that failed with its connection intact (that lock timeout, a statement
    timeout on a long rewrite, data the new schema cannot hold) is not tried again, by any
    process, for ``retry_after_lock_s`` / ``retry_after_error_s``: the time is kept in
    schema_migration_retry, and until then a call raises MigrationDeferred at once.
    Otherwise every worker of every task would start the same ALTER TABLE in turn (they
    queue on the advisory lock), each holding up the table's queries while it waits.
    """
    import psycopg

    applied_now = []
    with psycopg.connect(conninfo, autocommit=True,
                         options="-c statement_timeout=%d" % (lock_timeout_s * 1000)) as conn, \
            (watchdog.watch(conn, lock_timeout_s + 5) if watchdog else _no_deadline()):
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration_retry ("
                " id integer PRIMARY KEY CHECK (id = 1),"
                " not_before timestamptz NOT NULL,"
                " reason text NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            if any(m[0] not in done for m in MIGRATIONS):
                deferred = conn.execute(
                    "SELECT ceil(extract(epoch FROM not_before - now()))::integer, reason"
                    " FROM schema_migration_retry WHERE not_before > now()").fetchone()
                if deferred:
                    raise MigrationDeferred(max(1, deferred[0]), deferred[1])
            for version, description, pg_statements, _ in MIGRATIONS:
                if version in done:
                    continue
                try:
                    _apply_migration(conn, version, description, pg_statements,
                                     table_lock_timeout_s)
                except psycopg.Error as exc:
                    if conn.broken or conn.closed:
                        raise
                    lock = isinstance(exc, psycopg.errors.LockNotAvailable)
                    reason = ("migration %d could not lock a table within %ds (another session"
                              " holds a lock on it)" % (version, table_lock_timeout_s) if lock
                              else "migration %d failed (%s)" % (version, type(exc).__name__))
                    conn.execute(
                        "INSERT INTO schema_migration_retry (id, not_before, reason)"
                        " VALUES (1, now() + make_interval(secs => %s), %s)"
                        " ON CONFLICT (id) DO UPDATE"
                        " SET not_before = EXCLUDED.not_before, reason = EXCLUDED.reason",
                        (retry_after_lock_s if lock else retry_after_error_s, reason))
                    raise
                applied_now.append(version)
                log.info("applied migration %d (%s)", version, description)
        finally:
            if not conn.broken and not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now


def _apply_migration(conn, version, description, pg_statements, table_lock_timeout_s):
    """One migration in one transaction, recorded in schema_migrations."""
    import psycopg
    with conn.transaction():
        # SET LOCAL: for this transaction only, not the advisory lock's wait.
        conn.execute("SELECT set_config('lock_timeout', %s, true)",
                     ("%dms" % (table_lock_timeout_s * 1000),))
        try:
            for statement in pg_statements:
                conn.execute(statement)
        except psycopg.errors.LockNotAvailable:
            log.warning("migration %d (%s) waited more than %ds for a lock: another session"
                        " holds one on the table (pg_locks)", version, description,
                        table_lock_timeout_s)
            raise
        conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                     (version, description))


@contextmanager
def _no_deadline():
    yield None


def _socket_has_data(conn):
    """An idle pooled connection should have nothing to read.  If it has, the server sent
    an error (e.g. 'terminating connection due to administrator command') or closed it."""
    try:
        fd = conn.pgconn.socket
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:
        return True


class PostgresStore:
    backend = "postgres"

    def __init__(self, settings):
        self.settings = settings
        self._pool = None
        self._pool_pid = None
        self._pool_lock = threading.Lock()
        self._schema = _SchemaOnce()
        self._watchdog = _Watchdog()
        self._fail_fast = _FailFast()
        self._migration_recheck_at = 0.0  # time.monotonic() before which no migration runs
        self._migration_reason = ""

    # -- pool ------------------------------------------------------------------------------
    def _connection_kwargs(self):
        kwargs = {"autocommit": True}
        if self.settings.statement_timeout_ms:
            # Sent in the startup packet (libpq "options"), not by a query after connecting:
            # no extra round trip, and nothing that could hang the pool's connector threads
            # on a server that stops answering right after accepting the connection.
            from psycopg.conninfo import conninfo_to_dict
            given = conninfo_to_dict(self.settings.conninfo).get("options") or ""
            kwargs["options"] = ("%s -c statement_timeout=%d" % (
                given, self.settings.statement_timeout_ms)).strip()
        return kwargs

    def _reconnect_failed(self, pool):
        log.warning("database still unreachable after %.0fs; will retry on the next request",
                    self.settings.reconnect_timeout)

    def _get_pool(self):
        pid = os.getpid()
        if self._pool is not None and self._pool_pid == pid:
            return self._pool
        with self._pool_lock:
            if self._pool is None or self._pool_pid != pid:
                # A pool inherited through fork() is abandoned, never closed: closing it
                # would terminate the parent's sessions.  Each worker builds its own, lazily.
                from psycopg_pool import ConnectionPool

                s = self.settings
                pool = ConnectionPool(
                    s.conninfo,
                    min_size=s.pool_min_size,
                    max_size=s.pool_max_size,
                    timeout=s.pool_timeout,
                    reconnect_timeout=s.reconnect_timeout,
                    reconnect_failed=self._reconnect_failed,
                    kwargs=self._connection_kwargs(),
                    name="clients-%d" % pid,
                    open=False,
                )
                pool.open(wait=False)
                self._pool, self._pool_pid = pool, pid
        return self._pool

    @contextmanager
    def connection(self, timeout=None):
        """A pooled connection whose use is bounded by a client-side deadline (``timeout``,
        default DB_QUERY_TIMEOUT); waiting for it is bounded by the pool timeout."""
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._get_pool()
        wait = self.settings.pool_timeout if timeout is None else timeout
        deadline = self.settings.query_timeout if timeout is None else timeout
        conn = None
        try:
            for _ in range(self.settings.pool_max_size + 1):
                conn = pool.getconn(timeout=wait)
                if not _socket_has_data(conn):
                    break
                # stale: the server went away while it sat in the pool; the pool replaces it
                conn.close()
                pool.putconn(conn)
                conn = None
            if conn is None:
                conn = pool.getconn(timeout=wait)
        except PoolTimeout:
            raise DatabaseUnavailable("no database connection available within %.1fs" % wait)
        watch = None
        try:
            with self._watchdog.watch(conn, deadline) as watch:
                yield conn
        except psycopg.OperationalError as exc:
            if watch is not None and watch[2]:
                log.warning("database did not answer within %.1fs; connection discarded",
                            deadline)
                raise DatabaseUnavailable("database did not answer within %.1fs"
                                          % deadline) from exc
            log.warning("database error: %s", _first_line(exc))
            raise DatabaseUnavailable("database error (%s)" % type(exc).__name__,
                                      connection_lost=conn.broken or conn.closed) from exc
        finally:
            if watch is not None and watch[2] and not conn.closed:
                conn.close()  # its socket was shut down: never hand it out again
            pool.putconn(conn)

    @staticmethod
    def _cursor(conn):
        # One cursor per pooled connection, reused by the small reads: conn.execute() makes
        # a new Cursor each time, about 7 of the 25 us of CPU that psycopg spends per query.
        # Kept on the connection itself: the two refer to each other, so a connection the
        # pool discards (max_lifetime, an outage) is collected with its cursor.  (A map
        # from connection to cursor would keep both alive: the cursor holds its connection.)
        cursor = getattr(conn, "_clients_cursor", None)
        if cursor is None or cursor.closed:
            cursor = conn._clients_cursor = conn.cursor()
        return cursor

    def _read(self, fn, reuse_cursor=True):
        """Run an idempotent read, ``fn(cursor)``; retry once on a connection lost mid-way.
        ``reuse_cursor=False`` for a large result, which a reused cursor would hold on to
        until the connection's next query."""
        cursor = self._cursor if reuse_cursor else (lambda conn: conn.cursor())
        with self._fail_fast.guard():
            self.ensure_schema()
            try:
                with self.connection() as conn:
                    return fn(cursor(conn))
            except DatabaseUnavailable as exc:
                if not exc.connection_lost:
                    raise
            with self.connection() as conn:
                return fn(cursor(conn))

    # -- interface -------------------------------------------------------------------------
    # A migration waits at most MIGRATION_LOCK_TIMEOUT_S for a lock on a table; after it
    # failed that way, no process tries again for MIGRATION_LOCK_RETRY_S (after another
    # failure with the connection intact, MIGRATION_ERROR_RETRY_S): see migrate_postgres.
    # Meanwhile each process asks the database again at most every MIGRATION_RECHECK_S (so
    # it serves as soon as any process has migrated) and answers 503 in between.
    MIGRATION_LOCK_TIMEOUT_S = 2
    MIGRATION_LOCK_RETRY_S = 30
    MIGRATION_ERROR_RETRY_S = 300
    MIGRATION_RECHECK_S = 5

    def ensure_schema(self):
        def migrate():
            import psycopg
            if time.monotonic() < self._migration_recheck_at:
                raise DatabaseUnavailable(self._migration_reason)
            try:
                migrate_postgres(self.settings.conninfo, watchdog=self._watchdog,
                                 table_lock_timeout_s=self.MIGRATION_LOCK_TIMEOUT_S,
                                 retry_after_lock_s=self.MIGRATION_LOCK_RETRY_S,
                                 retry_after_error_s=self.MIGRATION_ERROR_RETRY_S)
            except MigrationDeferred as exc:
                self._defer_migration("schema migration deferred: %s" % exc)
            except psycopg.errors.LockNotAvailable as exc:  # logged by migrate_postgres
                self._defer_migration(
                    "schema migration could not lock a table within %ds (another session"
                    " holds a lock on it); next try in %ds" % (
                        self.MIGRATION_LOCK_TIMEOUT_S, self.MIGRATION_LOCK_RETRY_S), exc)
            except psycopg.Error as exc:
                log.warning("migration failed: %s", _first_line(exc))
                if isinstance(exc, psycopg.OperationalError) and not isinstance(
                        exc, psycopg.errors.QueryCanceled):
                    # the connection failed: no deferral, the next request tries at once
                    raise DatabaseUnavailable("schema migration failed: database unreachable"
                                              " (%s)" % type(exc).__name__) from exc
                self._defer_migration("schema migration failed (%s): %s" % (
                    type(exc).__name__, _first_line(exc)[:200]), exc)
        self._schema.run(migrate)

    def _defer_migration(self, reason, cause=None):
        self._migration_reason = reason
        self._migration_recheck_at = time.monotonic() + self.MIGRATION_RECHECK_S
        raise DatabaseUnavailable(reason) from cause

    def ping(self):
        with self._fail_fast.guard():
            self.ensure_schema()
            with self.connection(timeout=self.settings.ready_timeout) as conn:
                conn.execute("SELECT 1").fetchone()

    def create(self, name, money, key=None):
        """Insert a client.  With an idempotency ``key`` -> (client, replayed): the key is
        stored in the same transaction as the row, so a retry after a reply that never
        arrived finds it; the same key with another name/money raises IdempotencyConflict."""
        import psycopg
        with self._fail_fast.guard():
            self.ensure_schema()
            with self.connection() as conn:
                if key is None:
                    row = conn.execute("INSERT INTO clients (name, money) VALUES (%s, %s)"
                                       " RETURNING id, name, money", (name, money)).fetchone()
                    return _row(*row)
                fingerprint = request_fingerprint(name, money)
                row = None
                with conn.transaction():
                    conn.execute("DELETE FROM idempotency_keys WHERE key = %s AND created_at"
                                 " < now() - make_interval(secs => %s)", (key, IDEMPOTENCY_TTL_S))
                    row = conn.execute("INSERT INTO clients (name, money) VALUES (%s, %s)"
                                       " RETURNING id, name, money", (name, money)).fetchone()
                    # A concurrent holder of the same key makes this wait for its commit.
                    stored = conn.execute(
                        "INSERT INTO idempotency_keys (key, fingerprint, client_id)"
                        " VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING key",
                        (key, fingerprint, row[0])).fetchone()
                    if stored is None:
                        row = None
                        raise psycopg.Rollback()  # the key exists: undo our insert
                if row is not None:
                    return _row(*row), False
                original = conn.execute(
                    "SELECT k.fingerprint, c.id, c.name, c.money FROM idempotency_keys k"
                    " JOIN clients c ON c.id = k.client_id WHERE k.key = %s", (key,)).fetchone()
        if original is None or original[0] != fingerprint:
            raise IdempotencyConflict()
        return _row(*original[1:]), True

    def get(self, client_id):
        row = self._read(lambda cur: cur.execute(
            "SELECT id, name, money FROM clients WHERE id = %s", (client_id,)).fetchone())
        return _row(*row) if row else None

    def page(self, after, limit):
        rows = self._read(lambda cur: cur.execute(
            "SELECT id, name, money FROM clients WHERE id > %s ORDER BY id LIMIT %s",
            (after, limit + 1)).fetchall())
        return [_row(*r) for r in rows[:limit]], len(rows) > limit

    def all(self):
        rows = self._read(lambda cur: cur.execute(
            "SELECT id, name, money FROM clients ORDER BY id").fetchall(), reuse_cursor=False)
        return [_row(*r) for r in rows]

    # The list routes send JSON that PostgreSQL holds already rendered (migration 3,
    # item_json): one text value per response, with no per-row work in Python (decoding 3
    # values per row and encoding them again) nor in PostgreSQL (format() and to_json() on
    # every read).  The items are joined with ARRAY(subquery) and array_to_string, which
    # keep the subquery's ORDER BY, rather than string_agg(... ORDER BY id), which sorts
    # its input again before PostgreSQL 16.  has_more: whether a row follows the page, in
    # the same snapshot (one statement).  pgbench, 100-row page, per statement: format()
    # on read 99 us, stored JSON with string_agg 68 us, this 48 us.
    _PAGE_JSON = ("SELECT array_to_string(ARRAY(SELECT item_json FROM clients"
                  " WHERE id > %(after)s ORDER BY id LIMIT %(limit)s), ','),"
                  " EXISTS (SELECT 1 FROM clients WHERE id > %(after)s OFFSET %(limit)s)")
    _ALL_JSON = "SELECT array_to_string(ARRAY(SELECT item_json FROM clients ORDER BY id), ',')"

    def page_json(self, after, limit):
        items, has_more = self._read(lambda cur: cur.execute(
            self._PAGE_JSON, {"after": after, "limit": limit}).fetchone())
        return items, _last_item_id(items), has_more

    def all_json(self):
        return self._read(lambda cur: cur.execute(self._ALL_JSON).fetchone(),
                          reuse_cursor=False)[0]

    def close(self):
        with self._pool_lock:
            if self._pool is not None and self._pool_pid == os.getpid():
                self._pool.close(timeout=5)
            self._pool = None


# --------------------------------------------------------------------------- SQLite

def _cents_to_money(cents):
    return Decimal(int(cents)).scaleb(-2)


def _money_to_cents(money):
    return int(money.scaleb(2))


class SqliteStore:
    backend = "sqlite"

    def __init__(self, settings):
        self.settings = settings
        self.path = settings.sqlite_path
        self._schema = _SchemaOnce()

    @contextmanager
    def connection(self):
        try:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("cannot open SQLite database %s: %s", self.path, exc)
            raise DatabaseUnavailable("cannot open the SQLite database") from exc
        try:
            yield conn
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            log.warning("SQLite error on %s: %s", self.path, exc)
            raise DatabaseUnavailable("SQLite error: %s" % exc) from exc
        finally:
            conn.close()

    def ensure_schema(self):
        def migrate():
            directory = os.path.dirname(os.path.abspath(self.path))
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as exc:
                log.warning("cannot create %s: %s", directory, exc)
                raise DatabaseUnavailable("cannot create the SQLite database directory") from exc
            with self.connection() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")  # the SQLite equivalent of the advisory lock
                try:
                    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version INTEGER PRIMARY KEY,"
                                 " description TEXT NOT NULL,"
                                 " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
                    done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
                    for version, description, _, sqlite_statements in MIGRATIONS:
                        if version in done:
                            continue
                        for statement in sqlite_statements:
                            conn.execute(statement)
                        conn.execute("INSERT INTO schema_migrations (version, description)"
                                     " VALUES (?, ?)", (version, description))
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        self._schema.run(migrate)

    def ping(self):
        self.ensure_schema()
        with self.connection() as conn:
            conn.execute("SELECT 1").fetchone()

    def create(self, name, money, key=None):
        self.ensure_schema()
        with self.connection() as conn:
            if key is None:
                cur = conn.execute("INSERT INTO clients (name, money_cents) VALUES (?, ?)",
                                   (name, _money_to_cents(money)))
                return _row(cur.lastrowid, name, money)
            fingerprint = request_fingerprint(name, money)
            conn.execute("BEGIN IMMEDIATE")  # serialises writers, like PostgreSQL's key lock
            try:
                conn.execute("DELETE FROM idempotency_keys WHERE key = ? AND created_at < ?",
                             (key, int(time.time()) - IDEMPOTENCY_TTL_S))
                original = conn.execute(
                    "SELECT k.fingerprint, c.id, c.name, c.money_cents FROM idempotency_keys k"
                    " JOIN clients c ON c.id = k.client_id WHERE k.key = ?", (key,)).fetchone()
                if original is None:
                    cur = conn.execute("INSERT INTO clients (name, money_cents) VALUES (?, ?)",
                                       (name, _money_to_cents(money)))
                    conn.execute("INSERT INTO idempotency_keys (key, fingerprint, client_id,"
                                 " created_at) VALUES (?, ?, ?, ?)",
                                 (key, fingerprint, cur.lastrowid, int(time.time())))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if original is None:
            return _row(cur.lastrowid, name, money), False
        if original[0] != fingerprint:
            raise IdempotencyConflict()
        return _row(original[1], original[2], _cents_to_money(original[3])), True

    def get(self, client_id):
        self.ensure_schema()
        with self.connection() as conn:
            row = conn.execute("SELECT id, name, money_cents FROM clients WHERE id = ?",
                               (client_id,)).fetchone()
        return _row(row[0], row[1], _cents_to_money(row[2])) if row else None

    def page(self, after, limit):
        self.ensure_schema()
        with self.connection() as conn:
            rows = conn.execute("SELECT id, name, money_cents FROM clients WHERE id > ?"
                                " ORDER BY id LIMIT ?", (after, limit + 1)).fetchall()
        items = [_row(r[0], r[1], _cents_to_money(r[2])) for r in rows[:limit]]
        return items, len(rows) > limit

    def all(self):
        self.ensure_schema()
        with self.connection() as conn:
            rows = conn.execute("SELECT id, name, money_cents FROM clients ORDER BY id").fetchall()
        return [_row(r[0], r[1], _cents_to_money(r[2])) for r in rows]

    def page_json(self, after, limit):
        items, has_more = self.page(after, limit)
        return (_json_items(items), items[-1]["id"] if items else None, has_more)

    def all_json(self):
        return _json_items(self.all())

    def close(self):
        pass


def _last_item_id(items):
    """The id of the last client in ``items`` (comma-separated client JSON that starts
    '{"id":<id>,'), or None for no items.  The text '{"id":' cannot occur inside a name:
    JSON escapes the quotes of a string ('{\\"id\\":')."""
    start = items.rfind('{"id":')
    if start < 0:
        return None
    return int(items[start + 6:items.index(",", start)])


def _json_items(clients):
    from .validation import format_money
    return ",".join(json.dumps({"id": c["id"], "name": c["name"],
                                "money": format_money(c["money"])},
                               ensure_ascii=False, separators=(",", ":")) for c in clients)


def make_store(settings):
    if settings.backend == "postgres":
        return PostgresStore(settings)
    return SqliteStore(settings)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
