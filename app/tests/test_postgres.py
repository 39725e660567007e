"""PostgreSQL-only behaviour: real gunicorn under concurrency, outages, migration locking."""
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from clients_service.storage import MIGRATION_LOCK_KEY, SCHEMA_VERSION, migrate_postgres

from .conftest import APP_DIR, TEST_ENV, make_settings


def wait_for(predicate, timeout=20.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_money_column_is_exact_numeric(pg, pg_app_url, tmp_path, request):
    from clients_service import create_app
    app = create_app(make_settings("postgres", tmp_path, request))
    store = app.extensions["clients_store"]
    try:
        client = app.test_client()
        client.post("/clients", json={"name": "typed", "money": "123456789012.34"})
        with store.connection() as conn:
            kind = conn.execute(
                "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns"
                " WHERE table_name = 'clients' AND column_name = 'money'").fetchone()
            value = conn.execute("SELECT money FROM clients WHERE name = 'typed'").fetchone()[0]
        assert kind == ("numeric", 14, 2)
        assert value == Decimal("123456789012.34")
    finally:
        store.close()


def test_200_concurrent_posts_through_gunicorn(gunicorn_pg, pg):
    barrier = threading.Barrier(200)

    def one(i):
        barrier.wait(timeout=30)
        return gunicorn_pg.request(
            "POST", "/clients", body='{"name": "c%d", "money": "0.01"}' % i,
            headers={"Content-Type": "application/json"})

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(one, range(200)))
    statuses = [r[0] for r in results]
    assert statuses == [201] * 200, [r for r in results if r[0] != 201][:3]
    ids = {r[1]["id"] for r in results}
    assert len(ids) == 200
    with pg.connect("gunicorn_test") as conn:
        count, total = conn.execute("SELECT count(*), sum(money) FROM clients").fetchone()
    assert count == 200
    assert total == Decimal("2.00")
    listed = gunicorn_pg.request("GET", "/getall")[1]
    assert sorted(c["id"] for c in listed) == sorted(ids)


def test_json_logs_on_stdout(gunicorn_pg):
    import json
    gunicorn_pg.request("GET", "/health")
    assert wait_for(lambda: '"path": "/health"' in gunicorn_pg.log(), 5)
    lines = [line for line in gunicorn_pg.log().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON
    access = [p for p in parsed if p.get("type") == "access" and p.get("path") == "/health"]
    assert access and access[0]["status"] == 200 and access[0]["method"] == "GET"


def _assert_outage(get, post):
    status, body, _ = get("/ready")
    assert status == 503 and body["error"] == "database unavailable" and body["reason"]
    assert get("/health")[0] == 200
    assert get("/time")[0] == 200
    for path in ("/clients", "/getall", "/clients/1", "/get/1"):
        status, body, _ = get(path)
        assert status == 503, (path, status, body)
        assert body["error"] == "database unavailable"
    status, body, headers = post("/clients", {"name": "during", "money": "1"})
    assert status == 503 and headers.get("Retry-After")


def test_outage_and_recovery_same_app_object(pg, pg_app_url, tmp_path, request):
    from clients_service import create_app
    app = create_app(make_settings("postgres", tmp_path, request))
    store = app.extensions["clients_store"]
    client = app.test_client()

    def get(path):
        r = client.get(path)
        return r.status_code, r.get_json(), r.headers

    def post(path, body):
        r = client.post(path, json=body)
        return r.status_code, r.get_json(), r.headers

    try:
        created = post("/clients", {"name": "before", "money": "5.55"})
        assert created[0] == 201
        pg.stop("fast")
        try:
            _assert_outage(get, post)
        finally:
            pg.start()
        assert wait_for(lambda: get("/ready")[0] == 200), "did not recover"
        assert get("/clients/%d" % created[1]["id"])[1]["name"] == "before"
        assert post("/clients", {"name": "after", "money": "1"})[0] == 201
    finally:
        store.close()


def test_outage_and_recovery_same_gunicorn(gunicorn_pg, pg):
    def post(path, body):
        import json
        return gunicorn_pg.request("POST", path, json.dumps(body),
                                   {"Content-Type": "application/json"})

    get = lambda path: gunicorn_pg.request("GET", path)  # noqa: E731
    assert post("/clients", {"name": "before", "money": "1"})[0] == 201
    master = gunicorn_pg.proc.pid
    pg.stop("fast")
    try:
        t0 = time.monotonic()
        _assert_outage(get, post)
        assert time.monotonic() - t0 < 30  # 503s come fast, not after long hangs
    finally:
        pg.start()
    # every worker's pool must recover: hit it many times
    assert wait_for(lambda: all(get("/ready")[0] == 200 for _ in range(10)), 30)
    assert all(get("/getall")[0] == 200 for _ in range(20))
    assert post("/clients", {"name": "after", "money": "2"})[0] == 201
    assert gunicorn_pg.proc.poll() is None and gunicorn_pg.proc.pid == master


def _migrate_in_subprocess(url):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from clients_service.storage import migrate_postgres\n"
            "print(migrate_postgres(%r))" % (APP_DIR, url))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_concurrent_migrations_wait_for_the_lock(pg):
    url = pg.create_database("migrate_test")
    with pg.connect("migrate_test") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        procs = [_migrate_in_subprocess(url) for _ in range(6)]
        results = []
        threads = [threading.Thread(target=lambda: results.append(migrate_postgres(url)))
                   for _ in range(4)]
        for t in threads:
            t.start()

        def waiting():
            return holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]
        assert wait_for(lambda: waiting() == 10, 20), waiting()
        # nobody got past the lock: no schema yet
        assert holder.execute("SELECT to_regclass('clients')").fetchone()[0] is None
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        outputs = []
        for p in procs:
            out, err = p.communicate(timeout=30)
            assert p.returncode == 0, err
            outputs.append(out.strip())
        for t in threads:
            t.join(timeout=30)
        applied = outputs + [str(r) for r in results]
        everything = str(list(range(1, SCHEMA_VERSION + 1)))
        assert sorted(applied) == sorted(["[]"] * 9 + [everything])
        rows = holder.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert rows == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        assert holder.execute("SELECT to_regclass('clients')").fetchone()[0] == "clients"
        # and again, idempotent
        assert migrate_postgres(url) == []


def test_many_app_instances_start_at_once(pg, tmp_path):
    from clients_service import create_app
    from clients_service.config import resolve_settings
    url = pg.create_database("startup_test")
    apps = [create_app(resolve_settings({**TEST_ENV, "DATABASE_URL": url})) for _ in range(8)]
    barrier = threading.Barrier(len(apps))
    statuses = []

    def start(app):
        barrier.wait()
        statuses.append(app.test_client().post(
            "/clients", json={"name": "x", "money": "1"}).status_code)

    threads = [threading.Thread(target=start, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in apps:
        a.extensions["clients_store"].close()
    assert statuses == [201] * 8
    with pg.connect("startup_test") as conn:
        assert conn.execute("SELECT count(*) FROM clients").fetchone()[0] == 8
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] \
            == SCHEMA_VERSION


@pytest.mark.parametrize("env_style", ["discrete", "secret"])
def test_connects_with_db_star_and_secret_settings(pg, env_style):
    import json
    from clients_service import create_app
    from clients_service.config import resolve_settings
    env = dict(TEST_ENV, DB_HOST="127.0.0.1", DB_PORT=str(pg.port), DB_NAME="app_test",
               DB_SSLMODE="disable")
    if env_style == "discrete":
        env["DB_USER"] = "postgres"
    else:  # RDS-managed master secret: only username/password
        env["DB_SECRET"] = json.dumps({"username": "postgres", "password": "unused"})
    pg.create_database("app_test")
    app = create_app(resolve_settings(env))
    try:
        assert app.test_client().get("/ready").status_code == 200
    finally:
        app.extensions["clients_store"].close()


def test_unreachable_database_gives_fast_503(tmp_path):
    from clients_service import create_app
    from clients_service.config import resolve_settings
    from .conftest import free_port
    app = create_app(resolve_settings({**TEST_ENV, "DATABASE_URL":
                                       "postgresql://u@127.0.0.1:%d/x" % free_port()}))
    client = app.test_client()
    t0 = time.monotonic()
    resp = client.get("/ready")
    assert resp.status_code == 503 and resp.get_json()["reason"]
    assert client.get("/health").status_code == 200
    assert client.post("/clients", json={"name": "a", "money": "1"}).status_code == 503
    assert time.monotonic() - t0 < 10
    app.extensions["clients_store"].close()


# ------------------------------------------------------------------ frozen database server

def _postgres_pids(pg):
    """The postmaster and every process it forked (backends, checkpointer, ...)."""
    import os
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == postmaster:
                pids.append(int(entry))
    return pids


class frozen:
    """SIGSTOP PostgreSQL (what a black-holed network or a stuck failover looks like from
    the client: connections stay open, nothing answers); SIGCONT on exit, always."""

    def __init__(self, pg):
        self.pg = pg
        self.pids = []

    def __enter__(self):
        import os
        import signal
        self.pids = _postgres_pids(self.pg)
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        import os
        import signal
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def test_frozen_database_gives_bounded_503_and_health_stays_up(gunicorn_pg, pg):
    """Warm pools, then freeze PostgreSQL under load: every database route answers 503
    within a few seconds (DB_QUERY_TIMEOUT / DB_POOL_TIMEOUT are 1 s here), /health and
    /time keep answering, and the app recovers by itself once the server resumes."""
    import json
    for _ in range(30):  # warm every worker's pool
        assert gunicorn_pg.request("GET", "/clients?limit=5")[0] == 200
    results, probes = [], []
    stop = threading.Event()

    def load(i):
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                if i % 2:
                    status = gunicorn_pg.request("GET", "/clients?limit=5", timeout=15)[0]
                else:
                    status = gunicorn_pg.request(
                        "POST", "/clients", json.dumps({"name": "frozen", "money": "1"}),
                        {"Content-Type": "application/json"}, timeout=15)[0]
            except OSError as exc:
                status = repr(exc)
            results.append((status, time.monotonic() - t0))

    def probe():
        while not stop.is_set():
            for path in ("/health", "/time"):
                t0 = time.monotonic()
                try:
                    status = gunicorn_pg.request("GET", path, timeout=3)[0]
                except OSError as exc:
                    status = repr(exc)
                probes.append((path, status, time.monotonic() - t0))
            time.sleep(0.1)

    # 3 workers x 8 threads: 32 clients keep every thread busy
    threads = [threading.Thread(target=load, args=(i,)) for i in range(32)]
    threads.append(threading.Thread(target=probe))
    with frozen(pg):
        t_freeze = time.monotonic()
        try:
            for t in threads:
                t.start()
            time.sleep(6)
            ready = gunicorn_pg.request("GET", "/ready", timeout=15)
        finally:  # a failed request above must not leave the load running (pytest would hang)
            stop.set()
            for t in threads:
                t.join(timeout=20)
        frozen_for = time.monotonic() - t_freeze
    assert not any(t.is_alive() for t in threads)
    assert ready[0] == 503 and ready[1]["error"] == "database unavailable"
    assert results and probes
    slow = [r for r in results if r[0] not in (200, 201, 503) or r[1] > 5]
    assert not slow, (len(slow), slow[:5], frozen_for)
    assert any(r[0] == 503 for r in results)
    bad_probes = [p for p in probes if p[1] != 200]
    assert not bad_probes, (len(bad_probes), len(probes), bad_probes[:5])
    # recovery without a restart: every worker's pool answers again
    assert wait_for(lambda: all(gunicorn_pg.request("GET", "/ready")[0] == 200
                                for _ in range(10)), 30)
    assert all(gunicorn_pg.request("GET", "/clients?limit=5")[0] == 200 for _ in range(20))


def test_query_deadline_cancels_and_discards(pg, pg_app_url):
    """A call that outlives DB_QUERY_TIMEOUT fails with DatabaseUnavailable at about the
    deadline (not at statement_timeout), the query is cancelled on the server, and the
    pool does not hand the connection out again."""
    from clients_service.config import resolve_settings
    from clients_service.storage import DatabaseUnavailable, PostgresStore
    store = PostgresStore(resolve_settings({**TEST_ENV, "DATABASE_URL": pg_app_url,
                                            "DB_QUERY_TIMEOUT": "0.5",
                                            "DB_STATEMENT_TIMEOUT_MS": "20000",
                                            "DB_APPLICATION_NAME": "deadline-test"}))
    try:
        with store.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == "20s"
        # The pool may hold more than one warm connection: the victim is whichever runs the
        # slow query (asserting it is the one used above made the test depend on pool order).
        t0 = time.monotonic()
        with pytest.raises(DatabaseUnavailable) as info:
            with store.connection() as conn:
                victim = conn.info.backend_pid
                conn.execute("SELECT pg_sleep(10)")
        assert 0.4 < time.monotonic() - t0 < 3
        assert "did not answer within 0.5s" in info.value.reason
        with pg.connect() as admin:
            assert wait_for(lambda: admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%'"
                " AND application_name = 'deadline-test' AND state = 'active'"
            ).fetchone()[0] == 0, 5)
        for _ in range(5):  # however many connections the pool holds, never the victim again
            with store.connection() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
                assert conn.info.backend_pid != victim
    finally:
        store.close()


def test_stored_json_migration_on_rows_written_before_it_and_after_a_revert(pg, monkeypatch):
    """Migration 3 (item_json) on a table that already holds rows, as a stack upgraded from an
    earlier release has; then a row inserted the way earlier releases insert (a revert: that
    code never names the column).  Every row's JSON is what GET /clients/<id> answers."""
    from clients_service import create_app
    from clients_service import storage
    from clients_service.config import resolve_settings
    url = pg.create_database("upgrade_json_test")
    before = [m for m in storage.MIGRATIONS if m[0] < 3]
    with monkeypatch.context() as patch:
        patch.setattr(storage, "MIGRATIONS", before)
        assert migrate_postgres(url) == [1, 2]
    old_insert = "INSERT INTO clients (name, money) VALUES (%s, %s) RETURNING id"
    with pg.connect("upgrade_json_test") as conn:
        conn.execute(old_insert, ('quote " \\ é 😀 \u2028', "-12.5"))
        conn.execute(old_insert, ("</script>", "0"))
    assert migrate_postgres(url) == [3]
    with pg.connect("upgrade_json_test") as conn:
        conn.execute(old_insert, ("after revert", "123456789012.34"))
    app = create_app(resolve_settings({**TEST_ENV, "DATABASE_URL": url}))
    try:
        client = app.test_client()
        listed = client.get("/clients").get_json()["items"]
        assert [c["id"] for c in listed] == [1, 2, 3]
        assert listed == [client.get("/clients/%d" % c["id"]).get_json() for c in listed]
        assert [c["money"] for c in listed] == ["-12.50", "0.00", "123456789012.34"]
        assert client.get("/getall").get_json() == listed
    finally:
        app.extensions["clients_store"].close()


def test_reads_reuse_a_cursor_per_connection_and_drop_it_with_a_terminated_backend(
        pg, pg_app_url, tmp_path, request):
    import dataclasses
    import gc
    import logging
    import weakref

    from clients_service import create_app
    # psycopg_pool logs connections as arguments (INFO: given, returned; WARNING:
    # discarded); pytest keeps log records, and with them the connection this test wants to
    # see collected
    for name in ("psycopg", "psycopg.pool"):
        logger = logging.getLogger(name)
        request.addfinalizer(lambda logger=logger, level=logger.level: logger.setLevel(level))
        logger.setLevel(logging.ERROR)  # setLevel, not the attribute: it clears the cache
    settings = make_settings("postgres", tmp_path, request)
    app = create_app(dataclasses.replace(settings, pool_max_size=1, pool_min_size=1))
    store = app.extensions["clients_store"]
    try:
        client = app.test_client()
        assert client.post("/clients", json={"name": "a", "money": "1"}).status_code == 201
        assert client.get("/clients").status_code == 200
        with store.connection() as conn:
            first = conn._clients_cursor
            old_conn = weakref.ref(conn)
        assert client.get("/clients").status_code == 200
        assert client.get("/getall").status_code == 200  # a fresh cursor: a large result
        with store.connection() as conn:
            assert conn._clients_cursor is first  # one connection, one cursor, reused
        del first, conn
        _terminate_app_backends(pg)
        assert client.get("/clients").status_code == 200  # the stale connection was replaced
        gc.collect()
        assert old_conn() is None  # and nothing of ours keeps it (or its cursor) alive
    finally:
        store.close()


def _terminate_app_backends(pg):
    with pg.connect("app_test") as admin:
        count = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = 'app_test' AND pid <> pg_backend_pid()").fetchone()[0]
    assert count >= 1
    time.sleep(0.2)  # the terminated backends' FATAL + FIN reach the pooled sockets


def test_migration_gives_up_waiting_for_a_table_lock_and_is_tried_again(pg):
    """An ALTER TABLE waiting behind another session's transaction queues every query on the
    table behind it; lock_timeout bounds that wait, and a call after the retry time (kept in
    the database for every process) applies the migration."""
    import psycopg

    from clients_service import storage
    url = pg.create_database("lock_wait_test")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "MIGRATIONS", [m for m in storage.MIGRATIONS if m[0] < 3])
        migrate_postgres(url)
    with pg.connect("lock_wait_test") as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM clients")  # ACCESS SHARE until the transaction ends
        started = time.monotonic()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            migrate_postgres(url, table_lock_timeout_s=1, retry_after_lock_s=2)
        assert time.monotonic() - started < 5
        holder.execute("ROLLBACK")
    with pytest.raises(storage.MigrationDeferred, match="migration 3 could not lock"):
        migrate_postgres(url)  # no process tries again before the retry time ...
    assert wait_for(lambda: _migrates(url), 5, 0.25)  # ... then one does


def _migrates(url):
    from clients_service import storage
    try:
        return migrate_postgres(url) == [3]
    except storage.MigrationDeferred:
        return False


def test_stored_json_of_an_adopted_legacy_table(pg):
    """CREATE TABLE IF NOT EXISTS adopts a legacy clients table whatever its column types;
    item_json must still be the API's JSON: money with 2 decimals, null for a NULL."""
    from clients_service import create_app
    from clients_service.config import resolve_settings
    url = pg.create_database("legacy_types_test")
    with pg.connect("legacy_types_test") as conn:
        conn.execute("CREATE TABLE clients (id bigserial PRIMARY KEY, name text, money numeric)")
        conn.execute("INSERT INTO clients (name, money) VALUES ('a', 12.5), (NULL, 3),"
                     " ('c', NULL), ('d', 1.005)")
    assert migrate_postgres(url) == [1, 2, 3]
    app = create_app(resolve_settings({**TEST_ENV, "DATABASE_URL": url}))
    try:
        client = app.test_client()
        items = client.get("/clients").get_json()["items"]
        # each item as GET /clients/<id> renders it (Python, not the stored JSON)
        assert items == [client.get("/clients/%d" % i["id"]).get_json() for i in items]
    finally:
        app.extensions["clients_store"].close()
    assert items == [{"id": 1, "name": "a", "money": "12.50"},
                     {"id": 2, "name": None, "money": "3.00"},
                     {"id": 3, "name": "c", "money": None},
                     {"id": 4, "name": "d", "money": "1.01"}]


def test_a_migration_behind_a_lock_is_deferred_for_every_process_then_applied(pg, monkeypatch):
    """Behind another session's lock the app answers 503 naming the cause.  No process (here
    a second app, as another worker or task would be) queues a new ALTER TABLE, and with it
    every query on the table, until the retry time kept in the database; then one migrates
    and every process serves."""
    from clients_service import create_app
    from clients_service import storage
    from clients_service.config import resolve_settings
    url = pg.create_database("lock_retry_test")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "MIGRATIONS", [m for m in storage.MIGRATIONS if m[0] < 3])
        migrate_postgres(url)
    monkeypatch.setattr(storage.PostgresStore, "MIGRATION_LOCK_TIMEOUT_S", 1)
    monkeypatch.setattr(storage.PostgresStore, "MIGRATION_LOCK_RETRY_S", 3)
    monkeypatch.setattr(storage.PostgresStore, "MIGRATION_RECHECK_S", 0.5)
    apps = [create_app(resolve_settings({**TEST_ENV, "DATABASE_URL": url})) for _ in range(2)]
    first, second = (a.test_client() for a in apps)
    try:
        with pg.connect("lock_retry_test") as holder:
            holder.execute("BEGIN")
            holder.execute("SELECT count(*) FROM clients")  # ACCESS SHARE until the end
            started = time.monotonic()
            r = first.get("/clients")
            assert r.status_code == 503 and "could not lock" in r.get_json()["reason"]
            assert time.monotonic() - started < 4
            for client in (first, second, second):  # this process, then another one, twice
                started = time.monotonic()
                r = client.get("/clients")
                assert r.status_code == 503 and "next try in" in r.get_json()["reason"], r.data
                assert time.monotonic() - started < 0.5  # no wait behind the holder's lock
                time.sleep(0.6)  # past MIGRATION_RECHECK_S: the database is asked again
            holder.execute("ROLLBACK")
        assert wait_for(lambda: first.get("/clients").status_code == 200, 10, 0.25)
        assert second.get("/clients").status_code == 200
        with pg.connect("lock_retry_test") as conn:
            assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 3
    finally:
        for a in apps:
            a.extensions["clients_store"].close()
