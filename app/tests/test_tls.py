"""TLS to PostgreSQL authenticates the server: a real PostgreSQL with ssl=on, certificates it must
reject (signed by a CA outside the trusted bundle, or naming another host) and one it accepts.

The cloud targets set DB_SSLMODE=verify-full and leave DB_SSLROOTCERT unset, so the app trusts only
the RDS CA bundle it ships (clients_service/rds-ca-bundle.pem).  A server certificate from any
other CA -- here a throw-away test CA, standing in for an impostor on the network path -- must be
refused, where the old DB_SSLMODE=require connected to it.  Every connection attempt is bounded by
DB_CONNECT_TIMEOUT (2 s) and the pytest timeout.
"""
import os
import shutil
import subprocess

import psycopg
import pytest

from clients_service import create_app
from clients_service.config import RDS_CA_BUNDLE, resolve_settings

from .conftest import IS_ROOT, PgServer

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None,
                                reason="openssl CLI needed to make test certificates")


def _openssl(*args, cwd):
    subprocess.run([OPENSSL] + list(args), cwd=cwd, check=True, timeout=30,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _make_ca(directory, name):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
             "-subj", "/CN=" + name,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return os.path.join(directory, name + ".crt")


def _make_server_cert(directory, ca, dns_name):
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:%s\n"
                "extendedKeyUsage=serverAuth\n" % dns_name)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=" + dns_name,
             cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
             "-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", ext, cwd=directory)
    return os.path.join(directory, "server.crt"), os.path.join(directory, "server.key")


class TlsPgServer(PgServer):
    """PgServer with ssl=on and a server certificate for 'localhost' from its own test CA."""

    def __init__(self):
        super().__init__()
        self.tls_dir = os.path.join(self.base, "tls")
        os.mkdir(self.tls_dir)
        self.ca_cert = _make_ca(self.tls_dir, "test-ca")
        self.cert, self.key = _make_server_cert(self.tls_dir, "test-ca", "localhost")
        os.chmod(self.key, 0o600)  # PostgreSQL refuses a key others can read
        if IS_ROOT:
            import pwd
            pw = pwd.getpwnam("postgres")
            for path in (self.tls_dir, self.cert, self.key):
                os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self):
        opts = ("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s "
                "-c fsync=off -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s"
                % (self.port, self.base, self.cert, self.key))
        self._cmd("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", opts,
                  "start")


@pytest.fixture(scope="module")
def tls_pg():
    server = TlsPgServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


def _env(server, host, **extra):
    env = {"DB_HOST": host, "DB_PORT": str(server.port), "DB_USER": "postgres",
           "DB_NAME": "postgres", "DB_CONNECT_TIMEOUT": "2", "DB_POOL_TIMEOUT": "2",
           "DB_READY_TIMEOUT": "2", "DB_RECONNECT_TIMEOUT": "2"}
    env.update(extra)
    return env


def _ready(settings):
    app = create_app(settings)
    try:
        resp = app.test_client().get("/ready")
        return resp.status_code, resp.get_json()
    finally:
        app.extensions["clients_store"].close()


def _ssl_in_use(conninfo):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()


def test_cloud_setting_rejects_a_server_outside_the_rds_bundle(tls_pg):
    # What every target sets: verify-full, CA file left to the app's default (the RDS bundle).
    settings = resolve_settings(_env(tls_pg, "localhost", DB_SSLMODE="verify-full"))
    assert RDS_CA_BUNDLE in settings.conninfo
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(settings.conninfo)
    status, body = _ready(settings)
    assert status == 503 and body["status"] == "unavailable", body


def test_require_did_not_authenticate_the_server(tls_pg):
    # The previous setting: encrypted, but the impostor's certificate is accepted.
    settings = resolve_settings(_env(tls_pg, "localhost", DB_SSLMODE="require"))
    ssl, version = _ssl_in_use(settings.conninfo)
    assert ssl is True and version.startswith("TLS")


def test_verify_full_rejects_a_certificate_for_another_host(tls_pg):
    # Trusted CA, but the certificate names "localhost", not the host we asked for.
    settings = resolve_settings(_env(tls_pg, "127.0.0.1", DB_SSLMODE="verify-full",
                                     DB_SSLROOTCERT=tls_pg.ca_cert))
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(settings.conninfo)
    status, _ = _ready(settings)
    assert status == 503


def test_verify_full_accepts_the_trusted_ca_and_host(tls_pg):
    settings = resolve_settings(_env(tls_pg, "localhost", DB_SSLMODE="verify-full",
                                     DB_SSLROOTCERT=tls_pg.ca_cert))
    ssl, version = _ssl_in_use(settings.conninfo)
    assert ssl is True and version.startswith("TLS")
    status, body = _ready(settings)
    assert (status, body) == (200, {"status": "ready", "database": "postgres"})


def test_database_url_gets_the_same_verification(tls_pg):
    url = "postgresql://postgres@localhost:%d/postgres" % tls_pg.port
    rejected = resolve_settings({"DATABASE_URL": url, "DB_SSLMODE": "verify-full",
                                 "DB_CONNECT_TIMEOUT": "2"})
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(rejected.conninfo)
    accepted = resolve_settings({"DATABASE_URL": url + "?sslmode=verify-full&sslrootcert="
                                 + tls_pg.ca_cert, "DB_CONNECT_TIMEOUT": "2"})
    assert _ssl_in_use(accepted.conninfo)[0] is True
