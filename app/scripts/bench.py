"""Throughput of the app beside baselines, under the same gunicorn settings, on loopback.

Starts a private PostgreSQL (1,000 clients), then gunicorn four times with the app's
gunicorn.conf.py (only the WSGI callable differs): the app, a minimal Flask app, a bare WSGI
callable (scripts/bench_apps.py), and a connect-per-request Flask app.  Drives each with wrk
(-t2 -c64, BENCH_SECONDS per run, BENCH_RUNS interleaved runs) and prints requests/s, p99 and
the ratios:

  /time            app vs minimal Flask (and vs bare WSGI)
  /clients?limit=100  app (pooled) vs connect-per-request

For /clients it also prints where the machine's CPU went per request (from /proc): the
app's gunicorn processes, PostgreSQL's, wrk's own, and everything else on the machine.

Bounded: every server is stopped at the end, every wrk run is time-limited.
"""
import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

APP_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, APP_DIR)

from tests.conftest import PgServer, free_port  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
ROWS = 1000
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid):
    """CPU seconds of a process and of its waited-for children."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLK_TCK


def cpu_by_group(gunicorn_pid):
    """{"app": ..., "postgres": ...} CPU seconds so far, and the machine's busy seconds."""
    groups = {"app": 0.0, "postgres": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if pid == gunicorn_pid or ppid == gunicorn_pid:
                groups["app"] += _proc_cpu(pid)
            elif comm.startswith("postgres"):
                groups["postgres"] += _proc_cpu(pid)
        except (OSError, ValueError, IndexError):
            continue
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / CLK_TCK  # all but idle and iowait
    return groups, busy


class Server:
    def __init__(self, name, wsgi, env, log_dir):
        self.name = name
        self.port = free_port()
        full_env = dict(os.environ)
        for key in ("DATABASE_URL", "DB_SECRET", "DB_HOST", "SQLITE_PATH"):
            full_env.pop(key, None)
        full_env.update(env)
        full_env["LOG_LEVEL"] = full_env.get("LOG_LEVEL", "info")
        self.log = open(os.path.join(log_dir, "%s.log" % name), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
             "--bind", "127.0.0.1:%d" % self.port,
             "--pythonpath", os.path.join(APP_DIR, "scripts"), wsgi],
            cwd=APP_DIR, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def wait(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url(path), timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("%s did not start (see %s)" % (self.name, self.log.name))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wrk(url, cpu_of=None):
    """-> (req/s, p99 ms); with ``cpu_of`` (a gunicorn pid) also the CPU microseconds per
    request of the app, PostgreSQL, wrk itself and the rest of the machine."""
    before = cpu_by_group(cpu_of) if cpu_of else None
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % SECONDS, "--timeout", "5s", "--latency",
         url], check=True, capture_output=True, text=True, timeout=SECONDS + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if errors or socket_errors:
        print("   !! %s: %s %s" % (url, errors and errors.group(0),
                                   socket_errors and socket_errors.group(0)))
    if before is None:
        return rps, p99_ms
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (g0, busy0), (g1, busy1) = before, cpu_by_group(cpu_of)
    requests = max(1.0, rps * SECONDS)
    cpu = {k: g1[k] - g0[k] for k in g0}
    cpu["wrk"] = (wrk_after.ru_utime + wrk_after.ru_stime
                  - wrk_before.ru_utime - wrk_before.ru_stime)
    cpu["other"] = max(0.0, (busy1 - busy0) - sum(cpu.values()))
    return rps, p99_ms, {k: 1e6 * v / requests for k, v in cpu.items()}, \
        (busy1 - busy0) / SECONDS / (os.cpu_count() or 1)


def warm_up(url):
    """Load ``url`` at the measured concurrency for 2 s: each worker's pool opens
    DB_POOL_MIN_SIZE (1) connection at start and grows to GUNICORN_THREADS under load, one
    connection at a time; growing it inside a measured run showed as one run's p99 of 600 ms.
    The runs measure the steady state."""
    subprocess.run(["wrk", "-t2", "-c%d" % CONNECTIONS, "-d2s", url],
                   capture_output=True, timeout=30, check=True)


@contextlib.contextmanager
def seeded_postgres(rows):
    """A throw-away PostgreSQL holding the migrated schema and ``rows`` clients; yields its URL.

    In a directory of its own, not a pgtest-* in the shared temp dir, where other runs'
    cleanups look for servers to stop."""
    pg_parent = tempfile.mkdtemp(prefix="bench-pg-")
    os.chmod(pg_parent, 0o711)  # the server runs as user postgres when we are root
    tempfile.tempdir, saved_tempdir = pg_parent, tempfile.tempdir
    try:
        pg = PgServer()
    finally:
        tempfile.tempdir = saved_tempdir
    try:
        pg.init()
        pg.start()
        url = pg.create_database("bench")
        from clients_service.storage import migrate_postgres
        migrate_postgres(url)
        with pg.connect("bench") as conn:
            conn.execute("INSERT INTO clients (name, money) SELECT 'client ' || i, i / 100.0"
                         " FROM generate_series(1, %s) AS i", (rows,))
        yield url
    finally:
        pg.destroy()
        shutil.rmtree(pg_parent, ignore_errors=True)


def main():
    if not shutil.which("wrk"):
        sys.exit("bench: wrk not found (apt-get install wrk)")
    log_dir = os.environ.get("BENCH_LOG_DIR") or tempfile.mkdtemp(prefix="bench-")
    servers = []
    with seeded_postgres(ROWS) as url:
        try:
            env = {"DATABASE_URL": url, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "info")}
            app = Server("app", "wsgi:application", env, log_dir)
            minimal = Server("minimal-flask", "bench_apps:minimal_flask", env, log_dir)
            bare = Server("bare-wsgi", "bench_apps:bare", env, log_dir)
            cpr = Server("connect-per-request", "bench_apps:connect_per_request", env, log_dir)
            servers = [app, minimal, bare, cpr]
            app.wait("/clients?limit=100")
            for s in (minimal, bare):
                s.wait("/time")
            cpr.wait("/clients?limit=100")
            workers = os.environ.get("WEB_CONCURRENCY") or "default (2 x CPUs + 1, at most 8)"
            print("gunicorn.conf.py for all four; workers: %s, threads: %s; wrk -t2 -c%d -d%ds; "
                  "logs in %s" % (workers, os.environ.get("GUNICORN_THREADS", "4"), CONNECTIONS,
                                  SECONDS, log_dir))
            for s in servers:
                warm_up(s.url("/clients?limit=100" if s in (app, cpr) else "/time"))
            time_ratios, bare_ratios, clients_ratios, p99s = [], [], [], []
            for run in range(1, RUNS + 1):
                r_app_time = wrk(app.url("/time"))
                r_min_time = wrk(minimal.url("/time"))
                r_bare_time = wrk(bare.url("/time"))
                r_app_clients = wrk(app.url("/clients?limit=100"), cpu_of=app.proc.pid)
                r_cpr_clients = wrk(cpr.url("/clients?limit=100"))
                time_ratios.append(r_app_time[0] / r_min_time[0])
                bare_ratios.append(r_app_time[0] / r_bare_time[0])
                clients_ratios.append(r_app_clients[0] / r_cpr_clients[0])
                p99s.append(r_app_clients[1])
                print("run %d:" % run)
                for label, (rps, p99) in (("app /time", r_app_time),
                                          ("minimal Flask /time", r_min_time),
                                          ("bare WSGI /time", r_bare_time),
                                          ("app /clients?limit=100", r_app_clients[:2]),
                                          ("connect-per-request /clients?limit=100",
                                           r_cpr_clients)):
                    print("  %-40s %9.0f req/s   p99 %7.1f ms" % (label, rps, p99))
                cpu, busy = r_app_clients[2], r_app_clients[3]
                print("  CPU per app /clients request: app %.0f us, PostgreSQL %.0f us,"
                      " wrk %.0f us, rest of the machine %.0f us; CPUs %.0f%% busy" % (
                          cpu["app"], cpu["postgres"], cpu["wrk"], cpu["other"], 100 * busy))
                print("  ratios: /time app/minimal %.2fx, app/bare %.2fx; /clients app/connect-per-"
                      "request %.1fx" % (time_ratios[-1], bare_ratios[-1], clients_ratios[-1]))
            print("summary over %d runs:" % RUNS)
            print("  /time app vs minimal Flask:       %.2fx .. %.2fx   (goal >= 0.95x every run)"
                  % (min(time_ratios), max(time_ratios)))
            print("  /time app vs bare WSGI:           %.2fx .. %.2fx"
                  % (min(bare_ratios), max(bare_ratios)))
            print("  /clients?limit=100 app vs connect-per-request: %.1fx .. %.1fx   (goal >= 10x)"
                  % (min(clients_ratios), max(clients_ratios)))
            print("  /clients?limit=100 app p99:       %.0f .. %.0f ms   (goal < 100 ms)"
                  % (min(p99s), max(p99s)))
        finally:
            for s in servers:
                s.stop()


if __name__ == "__main__":
    main()
