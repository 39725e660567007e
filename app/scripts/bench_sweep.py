"""p99 of the app's /clients?limit=100 under several gunicorn settings (issue 14, Speed).

Usage (from app/, with the app's venv):  python scripts/bench_sweep.py '[["name", {ENV}], ...]'
e.g. '[["w5t4", {}], ["w2t2", {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}]]'.
ENV is added to the gunicorn's environment (GUNICORN_CMD_ARGS works too, e.g.
"--worker-class sync").  One PostgreSQL (1,000 clients) for all; per setting: start the
app's gunicorn, warm up, two wrk -t2 -c64 -d5s --latency runs, stop, and print req/s, p50,
p90, p99, max and how many /clients requests each worker served (from the access log's pid).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

URL = "/clients?limit=100"


def main():
    settings = json.loads(sys.argv[1])
    with bench.seeded_postgres(bench.ROWS) as url:
        for name, env in settings:
            log_dir = tempfile.mkdtemp(prefix="bench-sweep-")
            server = bench.Server(name, "wsgi:application",
                                  dict({"DATABASE_URL": url, "LOG_LEVEL": "info"}, **env), log_dir)
            results = []
            try:
                server.wait(URL)
                bench.warm_up(server.url(URL))
                for _ in range(2):
                    out = subprocess.run(
                        ["wrk", "-t2", "-c64", "-d5s", "--timeout", "5s", "--latency",
                         server.url(URL)], capture_output=True, text=True, timeout=60,
                        check=True).stdout
                    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
                    pct = {m.group(1): m.group(2) for m in
                           re.finditer(r"\s(50|90|99)%\s+(\S+)", out)}
                    top = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1)
                    results.append("%.0f req/s p50 %s p90 %s p99 %s max %s" % (
                        rps, pct["50"], pct["90"], pct["99"], top))
            finally:
                server.stop()
            per_worker = {}
            with open(os.path.join(log_dir, name + ".log"), errors="replace") as log:
                for line in log:
                    pid = re.search(r'"pid": ?(\d+)', line)
                    if pid and '"path": "/clients"' in line:
                        per_worker[pid.group(1)] = per_worker.get(pid.group(1), 0) + 1
            counts = sorted(per_worker.values())
            line = "%s | %s | per worker %s" % (name, " || ".join(results), counts)
            print(line, flush=True)
            shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
