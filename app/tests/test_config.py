"""Environment -> database settings, gunicorn.conf.py, and the local runner."""
import json
import os
import runpy
import subprocess
import time
import urllib.request

import pytest
from psycopg.conninfo import conninfo_to_dict

from clients_service.config import ConfigError, default_sqlite_path, resolve_settings

from .conftest import APP_DIR, free_port


def pg_params(env):
    s = resolve_settings(env)
    assert s.backend == "postgres"
    return conninfo_to_dict(s.conninfo)


def test_nothing_set_uses_sqlite_in_temp_dir():
    s = resolve_settings({})
    assert s.backend == "sqlite"
    assert s.sqlite_path == default_sqlite_path()
    assert s.sqlite_path.startswith("/tmp/") or os.environ.get("TMPDIR")
    assert not s.sqlite_path.startswith(APP_DIR)


def test_sqlite_path_env():
    s = resolve_settings({"SQLITE_PATH": "/data/x.db"})
    assert (s.backend, s.sqlite_path) == ("sqlite", "/data/x.db")


def test_database_url():
    p = pg_params({"DATABASE_URL": "postgresql://u:p%40ss@db.example:6543/app"})
    assert (p["host"], p["port"], p["dbname"], p["user"], p["password"]) == (
        "db.example", "6543", "app", "u", "p@ss")
    assert "sslmode" not in p  # libpq default (prefer) unless DB_SSLMODE says otherwise
    p = pg_params({"DATABASE_URL": "postgresql://u@h/app", "DB_SSLMODE": "verify-full"})
    assert p["sslmode"] == "verify-full"


def test_database_url_wins_over_everything():
    p = pg_params({"DATABASE_URL": "postgresql://u@url-host/app", "DB_HOST": "other",
                   "DB_SECRET": '{"host": "secret-host"}'})
    assert p["host"] == "url-host"


def test_bad_database_url():
    with pytest.raises(ConfigError):
        resolve_settings({"DATABASE_URL": "mysql://x"})


def test_discrete_vars_default_sslmode_prefer():
    p = pg_params({"DB_HOST": "h", "DB_PORT": "5433", "DB_NAME": "n", "DB_USER": "u",
                   "DB_PASSWORD": "p w'\\"})
    assert (p["host"], p["port"], p["dbname"], p["user"], p["password"], p["sslmode"]) == (
        "h", "5433", "n", "u", "p w'\\", "prefer")
    assert p["connect_timeout"] == "2"


def test_full_secret():
    secret = {"username": "admin", "password": "s3cr=t", "host": "rds.example", "port": 5432,
              "dbname": "clients", "engine": "postgres"}
    p = pg_params({"DB_SECRET": json.dumps(secret), "DB_SSLMODE": "require"})
    assert (p["user"], p["password"], p["host"], p["port"], p["dbname"], p["sslmode"]) == (
        "admin", "s3cr=t", "rds.example", "5432", "clients", "require")


def test_rds_managed_secret_merges_with_db_vars():
    p = pg_params({"DB_SECRET": '{"username": "master", "password": "rotated"}',
                   "DB_HOST": "cluster.example", "DB_PORT": "5432", "DB_NAME": "app",
                   "DB_USER": "stale", "DB_PASSWORD": "stale"})
    assert (p["user"], p["password"], p["host"], p["dbname"]) == (
        "master", "rotated", "cluster.example", "app")


@pytest.mark.parametrize("secret", ["not json", "[1]", '{"username": "u"}'])
def test_bad_secret(secret):
    with pytest.raises(ConfigError):
        resolve_settings({"DB_SECRET": secret})


def test_pool_settings_from_env():
    s = resolve_settings({"DB_HOST": "h", "GUNICORN_THREADS": "6", "DB_POOL_TIMEOUT": "0.5"})
    assert (s.pool_max_size, s.pool_timeout) == (6, 0.5)
    with pytest.raises(ConfigError):
        resolve_settings({"DB_HOST": "h", "DB_POOL_TIMEOUT": "soon"})


def load_gunicorn_conf(monkeypatch, **env):
    import logging
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored after the test
    monkeypatch.setattr(root, "level", root.level)
    for key in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_GRACEFUL_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(os.path.join(APP_DIR, "gunicorn.conf.py"))


def test_gunicorn_conf_defaults(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["wsgi_app"] == "wsgi:application"
    assert 3 <= conf["workers"] <= 8
    assert conf["threads"] == 4 and conf["worker_class"] == "gthread"
    assert 0 < conf["graceful_timeout"] < 30
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["control_socket_disable"] is True


@pytest.mark.parametrize("cpus, quota, workers", [
    (1, None, 3), (2, None, 5), (3, None, 7), (4, None, 8), (16, None, 8),
    # a cgroup v2 quota (Fargate, a Kubernetes CPU limit) wins, rounded up to whole CPUs
    (16, "25000 100000", 3), (16, "150000 100000", 5), (16, "200000 100000", 5),
    (2, "max 100000", 5),
])
def test_gunicorn_conf_runs_two_workers_per_cpu_and_one_more(monkeypatch, cpus, quota, workers):
    import builtins
    import io
    real_open = builtins.open

    def cgroup(path, *args, **kwargs):
        if str(path) == "/sys/fs/cgroup/cpu.max":
            if quota is None:
                raise OSError("no cgroup v2 here")
            return io.StringIO(quota + "\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", cgroup)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert load_gunicorn_conf(monkeypatch)["workers"] == workers


def test_gunicorn_conf_env(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch, PORT="9090", WEB_CONCURRENCY="3",
                              GUNICORN_THREADS="2", GUNICORN_GRACEFUL_TIMEOUT="10")
    assert (conf["bind"], conf["workers"], conf["threads"], conf["graceful_timeout"]) == (
        "0.0.0.0:9090", 3, 2, 10)


def test_run_local_serves_time_with_sqlite(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "DB_HOST", "DB_SECRET")}
    env.update(PORT=str(port), SQLITE_PATH=str(tmp_path / "local.db"), WEB_CONCURRENCY="1")
    proc = subprocess.Popen(["bash", os.path.join(APP_DIR, "run_local.sh")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        body = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/time" % port, timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None and body["message"] == "Automation for the People"
        req = urllib.request.Request("http://127.0.0.1:%d/clients" % port, method="POST",
                                     data=b'{"name": "local", "money": "1.5"}',
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 201
        assert (tmp_path / "local.db").exists()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


# ------------------------------------------------------------------ TLS: who the server is

def test_verify_full_trusts_the_shipped_rds_bundle_by_default():
    from clients_service.config import RDS_CA_BUNDLE
    # Relative to the package, so it resolves under /app (image) and /var/app/current (Beanstalk).
    assert RDS_CA_BUNDLE == os.path.join(APP_DIR, "clients_service", "rds-ca-bundle.pem")
    with open(RDS_CA_BUNDLE) as f:
        assert f.read().count("-----BEGIN CERTIFICATE-----") >= 3
    for env in ({"DB_HOST": "db.example", "DB_SSLMODE": "verify-full"},
                {"DB_SECRET": '{"username": "u", "password": "p"}', "DB_HOST": "db.example",
                 "DB_SSLMODE": "verify-full"},
                {"DATABASE_URL": "postgresql://u@db.example/app", "DB_SSLMODE": "verify-full"},
                {"DATABASE_URL": "postgresql://u@db.example/app?sslmode=verify-ca"}):
        p = pg_params(env)
        assert p["sslrootcert"] == RDS_CA_BUNDLE, env
        assert p["sslmode"] in ("verify-full", "verify-ca")


def test_sslrootcert_override_and_non_verifying_modes(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    p = pg_params({"DB_HOST": "h", "DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": str(ca)})
    assert p["sslrootcert"] == str(ca)
    # A CA file named in DATABASE_URL is kept, unless DB_SSLROOTCERT says otherwise.
    url = "postgresql://u@h/app?sslmode=verify-full&sslrootcert=/etc/my-ca.pem"
    assert pg_params({"DATABASE_URL": url})["sslrootcert"] == "/etc/my-ca.pem"
    assert pg_params({"DATABASE_URL": url, "DB_SSLROOTCERT": str(ca)})["sslrootcert"] == str(ca)
    # Modes that do not verify get no CA file (libpq would turn require into verify-ca).
    for mode in ("require", "prefer", "disable"):
        assert "sslrootcert" not in pg_params({"DB_HOST": "h", "DB_SSLMODE": mode})


def test_bad_ssl_settings_name_the_key_value_and_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"DB_SSLMODE must be one of disable, allow, prefer, "
                                          r"require, verify-ca, verify-full, got 'verify'"):
        resolve_settings({"DB_HOST": "h", "DB_SSLMODE": "verify"})
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigError, match="DB_SSLROOTCERT: CA file .*nope.pem.* does not exist"):
        resolve_settings({"DB_HOST": "h", "DB_SSLMODE": "verify-full", "DB_SSLROOTCERT": missing})


@pytest.mark.parametrize("created", [0.0, 1763917200.0, 1763917200.0004, 1763917200.0005,
                                     1763917200.9994, 1763917200.9995, 1763917200.9999996,
                                     1763917259.123456, 1893456000.5])
def test_json_log_time_is_isoformat_utc_milliseconds(created):
    import datetime
    import logging

    from clients_service.jsonlog import JsonFormatter
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = created
    expected = datetime.datetime.fromtimestamp(created, datetime.timezone.utc) \
        .isoformat(timespec="milliseconds").replace("+00:00", "Z")
    formatter = JsonFormatter()
    for _ in range(2):  # the second call uses the per-second cache
        assert json.loads(formatter.format(record))["time"] == expected


def test_access_log_fields_are_gunicorn_atoms(request):
    """The access line reads the environ directly; its fields are what gunicorn's atoms()
    gives for the same request."""
    import datetime
    import logging

    from gunicorn.config import Config

    from clients_service.jsonlog import GunicornJsonLogger
    request_cleanup = request.addfinalizer
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = GunicornJsonLogger(cfg)
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    keep = Keep()
    logger.access_log.addHandler(keep)
    request_cleanup(lambda: logger.access_log.removeHandler(keep))  # a process-wide logger

    class Resp:
        status = "503 Service Unavailable"
        sent = 1234
        headers = [("Content-Type", "application/json")]

    class Req:
        headers = [("HOST", "x"), ("USER-AGENT", "probe/1")]

    for environ in ({"REQUEST_METHOD": "GET", "RAW_URI": "/clients?limit=5",
                     "PATH_INFO": "/clients", "QUERY_STRING": "limit=5",
                     "SERVER_PROTOCOL": "HTTP/1.1",
                     "REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "probe/1",
                     "HTTP_X_FORWARDED_FOR": "1.2.3.4"},
                    {"REQUEST_METHOD": "POST", "RAW_URI": "/add", "PATH_INFO": "/add",
                     "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.0"}):
        records.clear()
        took = datetime.timedelta(microseconds=2500)
        logger.access(Resp, Req, environ, took)
        atoms = logger.atoms(Resp, Req, environ, took)
        fields = records[0].json_fields
        assert fields == {
            "type": "access", "remote_addr": atoms["h"],
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"), "method": atoms["m"],
            "path": atoms["U"], "query": atoms["q"] or None, "protocol": atoms["H"],
            "status": int(atoms["s"]), "bytes": atoms["B"], "duration_ms": 2.5,
            "user_agent": atoms["a"], "pid": os.getpid()}
