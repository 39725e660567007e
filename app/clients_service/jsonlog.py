"""JSON log lines on stdout, for gunicorn's error/access logs and the application's own logs."""
import datetime
import json
import logging
import os
import sys

from gunicorn import glogging


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "json_fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_root_logging(level="INFO"):
    """Send the application's own loggers to stdout as JSON (called from gunicorn.conf.py)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # psycopg_pool logs every checkout at INFO
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)


class GunicornJsonLogger(glogging.Logger):
    """gunicorn logger whose error and access logs are JSON lines on stdout."""

    def _set_handler(self, log, output, fmt, stream=None):
        if output == "-":
            stream = sys.stdout
        super()._set_handler(log, output, JsonFormatter(), stream=stream)

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict):
            return
        try:
            atoms = self.atoms(resp, req, environ, request_time)
            status = str(atoms.get("s", "-"))
            fields = {
                "type": "access",
                "remote_addr": atoms.get("h"),
                "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
                "method": atoms.get("m"),
                "path": atoms.get("U"),
                "query": atoms.get("q") or None,
                "protocol": atoms.get("H"),
                "status": int(status) if status.isdigit() else status,
                "bytes": atoms.get("B"),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "user_agent": atoms.get("a"),
                "pid": os.getpid(),
            }
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status,
                                 extra={"json_fields": fields})
        except Exception:
            self.exception("failed to write the access log")
