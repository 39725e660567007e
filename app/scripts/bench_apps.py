"""Baselines for scripts/bench.py, served by gunicorn with the app's own gunicorn.conf.py.

minimal_flask        the smallest Flask app answering /time like the service does
bare                 a bare WSGI callable answering /time (the ceiling for gunicorn + Python)
connect_per_request  /clients?limit=N done the naive way: a new PostgreSQL connection per
                     request (same libpq settings as the app), same query and JSON shape
"""
import json
import time

from flask import Flask, jsonify, request

MESSAGE = "Automation for the People"

minimal_flask = Flask("minimal")


@minimal_flask.get("/time")
def _minimal_time():
    return jsonify(message=MESSAGE, timestamp=int(time.time()))


def bare(environ, start_response):
    body = json.dumps({"message": MESSAGE, "timestamp": int(time.time())}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


connect_per_request = Flask("connect_per_request")


@connect_per_request.get("/clients")
def _cpr_clients():
    import psycopg

    from clients_service.config import resolve_settings

    limit = int(request.args.get("limit", "100"))
    with psycopg.connect(resolve_settings().conninfo, autocommit=True) as conn:
        rows = conn.execute("SELECT id, name, money FROM clients WHERE id > %s ORDER BY id"
                            " LIMIT %s", (0, limit + 1)).fetchall()
    items = [{"id": r[0], "name": r[1], "money": "{:f}".format(r[2])} for r in rows[:limit]]
    return jsonify(items=items, next_cursor=None)
