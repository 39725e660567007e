"""Fixtures: a throw-away PostgreSQL server, the app on both backends, a real gunicorn."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

APP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if APP_DIR not in sys.path:
    sys.path.insert(0, APP_DIR)

from clients_service import create_app  # noqa: E402
from clients_service.config import resolve_settings  # noqa: E402

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A private PostgreSQL cluster in a temp dir, on a free loopback port."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="pgtest-")
        self.data = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "postgres.log")
        self.port = free_port()
        if IS_ROOT:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)

    def _cmd(self, *args):
        cmd = [os.path.join(PG_BIN, args[0])] + list(args[1:])
        if IS_ROOT:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              cwd=self.base, timeout=60)

    def init(self):
        self._cmd("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        return self

    def start(self):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300" % (self.port, self.base))
        self._cmd("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", opts,
                  "start")

    def stop(self, mode="fast"):
        self._cmd("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def url(self, dbname="postgres"):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, dbname)

    def connect(self, dbname="postgres"):
        import psycopg
        return psycopg.connect(self.url(dbname), autocommit=True)

    def create_database(self, name):
        with self.connect() as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
            conn.execute('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def destroy(self):
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg():
    server = PgServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def pg_app_url(pg):
    return pg.create_database("app_test")


TEST_ENV = {"DB_POOL_TIMEOUT": "1", "DB_READY_TIMEOUT": "1", "DB_RECONNECT_TIMEOUT": "2",
            "DB_POOL_MAX_SIZE": "4"}


def make_settings(backend, tmp_path, request):
    env = dict(TEST_ENV)
    if backend == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("pg_app_url")
    else:
        env["SQLITE_PATH"] = str(tmp_path / "clients.sqlite3")
    return resolve_settings(env)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def app(backend, tmp_path, request):
    settings = make_settings(backend, tmp_path, request)
    application = create_app(settings)
    store = application.extensions["clients_store"]
    if backend == "postgres":
        store.ensure_schema()
        with store.connection() as conn:
            conn.execute("TRUNCATE clients, idempotency_keys RESTART IDENTITY")
    application.config["TESTING"] = True
    yield application
    store.close()


@pytest.fixture
def store(app):
    return app.extensions["clients_store"]


@pytest.fixture
def client(app):
    return app.test_client()


# ------------------------------------------------------------------------- real gunicorn

class Gunicorn:
    def __init__(self, env, tmp_dir, wsgi=None):
        self.port = free_port()
        self.log_path = os.path.join(tmp_dir, "gunicorn-%d.log" % self.port)
        full_env = dict(os.environ)
        for key in ("DATABASE_URL", "DB_SECRET", "DB_HOST", "SQLITE_PATH"):
            full_env.pop(key, None)
        full_env.update(env)
        full_env["PORT"] = str(self.port)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", "127.0.0.1:%d" % self.port] + ([wsgi] if wsgi else []),
            cwd=APP_DIR, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.request("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not start:\n" + self.log())
            time.sleep(0.1)

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, (json.loads(data) if data else None), dict(resp.getheaders())
        finally:
            conn.close()

    def log(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def gunicorn_pg(pg, tmp_path):
    url = pg.create_database("gunicorn_test")
    server = Gunicorn({"DATABASE_URL": url, "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "8",
                       **TEST_ENV, "DB_POOL_MAX_SIZE": "8"}, str(tmp_path))
    server.db_url = url
    yield server
    code = server.stop()
    assert code == 0, "gunicorn did not shut down cleanly on SIGTERM:\n" + server.log()
