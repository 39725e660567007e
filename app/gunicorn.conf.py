"""gunicorn settings, all overridable from the environment.

PORT (8000), WEB_CONCURRENCY (workers; default 2*CPUs+1, at most 8), GUNICORN_THREADS (4),
GUNICORN_TIMEOUT (30), GUNICORN_GRACEFUL_TIMEOUT (25), GUNICORN_KEEPALIVE (75),
GUNICORN_ACCESS_LOG_FLUSH_MS (200; 0 writes each access line at once), LOG_LEVEL (info),
FORWARDED_ALLOW_IPS (127.0.0.1).
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from clients_service.jsonlog import GunicornJsonLogger, configure_root_logging  # noqa: E402


def _env_int(name, default, minimum=1):
    raw = os.environ.get(name, "").strip()
    try:
        return max(minimum, int(raw)) if raw else default
    except ValueError:
        return default


def _cpu_count():
    """CPUs this container may use: cgroup quota if set (Fargate/Kubernetes limits), else
    the CPUs we are allowed to run on."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:  # cgroup v2
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


chdir = _HERE
wsgi_app = "wsgi:application"
bind = "0.0.0.0:%d" % _env_int("PORT", 8000)
# 2 x CPUs + 1 (gunicorn's suggested starting point).  CPUs + 1 was tried: more /clients
# throughput on average, but a keep-alive connection stays on the worker that accepted it,
# and when most of them landed on one worker, that worker was capped at one CPU by its GIL
# while the others idled (one run: 2,538 req/s with the CPUs 63% busy, against about 5,400).
# More processes than CPUs absorb that skew (app/README.md, Benchmark).  lib/sizing.ts applies
# the same rule to the cloud targets.
workers = _env_int("WEB_CONCURRENCY", min(2 * _cpu_count() + 1, 8))
threads = _env_int("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM gunicorn stops accepting, lets in-flight requests finish for up to this long,
# then exits.  Keep it below ECS stopTimeout / Kubernetes terminationGracePeriodSeconds (30s).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the ALB / nginx idle timeout (60s) so the proxy closes idle connections first.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn >= 25.1 otherwise opens a runtime-management socket ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl, for `gunicornc`); no platform here uses it, and the image's
# home directory is not writable.
control_socket_disable = True
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"  # heartbeat file off the (possibly overlay/read-only) disk

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Access lines are written in batches, at most this long after their request (see
# jsonlog.BufferedLineHandler: a write per line cost a worker more than the line itself).
access_log_flush_ms = _env_int("GUNICORN_ACCESS_LOG_FLUSH_MS", 200, minimum=0)
logger_class = GunicornJsonLogger.with_access_flush_interval(access_log_flush_ms / 1000.0)
configure_root_logging(loglevel.upper() if loglevel.upper() in
                       ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO")


def worker_exit(server, worker):
    """Write this worker's pending access lines and close its database pool on the way out
    (after graceful shutdown)."""
    flush = getattr(worker.log, "flush_access_log", None)
    if flush is not None:
        flush()
    wsgi = sys.modules.get("wsgi")
    store = getattr(getattr(wsgi, "application", None), "extensions", {}).get("clients_store")
    if store is not None:
        try:
            store.close()
        except Exception:  # pragma: no cover - best effort at exit
            server.log.exception("error closing the database pool")
