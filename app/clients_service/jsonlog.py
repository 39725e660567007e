"""JSON log lines on stdout, for gunicorn's error/access logs and the application's own logs."""
import json
import logging
import os
import select
import sys
import threading
import time

from gunicorn import glogging


class JsonFormatter(logging.Formatter):
    _second = (None, "")  # (a Unix second, its "YYYY-MM-DDTHH:MM:SS" in UTC), replaced whole

    def _time(self, created):
        """ISO 8601 UTC with milliseconds, e.g. "2026-01-02T03:04:05.678Z" (what
        datetime.isoformat(timespec="milliseconds") gives); the part up to the second is
        formatted once per second, not once per line (every request writes an access line)."""
        second, fraction = divmod(created, 1)
        micros = round(fraction * 1e6)  # as datetime.fromtimestamp rounds
        if micros >= 1000000:
            second, micros = second + 1, 0
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        return "%s.%03dZ" % (cached[1], micros // 1000)

    def format(self, record):
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self.line(record.created, record.levelname.lower(), record.name,
                         record.getMessage(), getattr(record, "json_fields", None), exception)

    def line(self, created, level, logger, message, fields=None, exception=None):
        """The JSON line for these values (format() of a LogRecord holding them)."""
        entry = {"time": self._time(created), "level": level, "logger": logger,
                 "message": message}
        if fields:
            entry.update(fields)
        if exception is not None:
            entry["exception"] = exception
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


class BufferedLineHandler(logging.StreamHandler):
    """A StreamHandler that writes the lines of up to ``interval`` seconds together.

    For the access log: one write(2) per request cost a worker more CPU than the line
    itself, because under load every system call that releases the GIL hands it to another
    thread and waits to get it back (measured with the benchmark: /clients req/s went up 8 to
    15% with the access log off; this handler recovers most of it).  nginx's
    ``access_log ... buffer= flush=`` makes the same trade.

    Lines are written, in order, by a flusher thread every ``interval`` seconds, at once when
    MAX_PENDING characters are waiting, and on flush()/close() (logging.shutdown at exit, and
    gunicorn's worker_exit hook).  A process killed with SIGKILL loses at most ``interval``
    seconds of lines.  Several workers share one stdout pipe, where only writes of at most
    PIPE_BUF bytes are atomic, so the lines go out in writes of whole lines of at most
    PIPE_BUF bytes each: lines of different workers never interleave (a single line longer
    than PIPE_BUF cannot be protected, as before).  A failed write (stdout closed, disk
    full) is reported like any handler's error (handleError: a traceback on stderr, at most
    once a minute, with the number of lines lost), its lines are dropped, and the next
    interval's lines are tried again.
    """

    MAX_PENDING = 64 * 1024  # characters
    REPORT_EVERY_S = 60.0  # a failing write is reported at most this often

    def __init__(self, stream, interval):
        super().__init__(stream)
        self.interval = interval
        self._pending = []
        self._pending_size = 0
        self._pid = None
        self._dropped = 0  # lines lost to failed writes since the last report
        self._next_report = 0.0

    def emit(self, record):  # called with self.lock held (Handler.handle)
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._append(line, record)

    def write_line(self, line):
        """Queue one already formatted line (without its newline), as emit() would."""
        with self.lock:
            self._append(line)

    def _append(self, line, record=None):
        line += self.terminator
        if self._pid != os.getpid():
            # First line in this process (gunicorn forks workers after setting logging
            # up): lines inherited from the parent are the parent's to write, and threads
            # do not survive fork().
            self._pid = os.getpid()
            self._pending, self._pending_size = [], 0
            threading.Thread(target=self._flush_periodically, name="access-log-flush",
                             daemon=True).start()
        self._pending.append(line)
        self._pending_size += len(line)
        if self._pending_size >= self.MAX_PENDING:
            self._write_pending(record)

    def _flush_periodically(self):
        while True:
            time.sleep(self.interval)
            if self._pending:  # unlocked peek: an idle worker does not take the lock
                self.flush()

    def flush(self):
        with self.lock:
            self._write_pending()

    def _write_pending(self, record=None):
        if self._pid != os.getpid():
            # a child forked by this process (not gunicorn's fork, which happens before any
            # line): what is pending is the parent's
            self._pending, self._pending_size = [], 0
            return
        if not self._pending or self.stream is None:
            return
        lines, self._pending, self._pending_size = self._pending, [], 0
        try:
            self._write_lines(lines)
        except Exception:
            # Reported at most once a minute: with stdout gone every batch fails, and a
            # traceback on stderr every interval would be its own flood.
            self._dropped += len(lines)
            now = time.monotonic()
            if now >= self._next_report:
                self._next_report = now + self.REPORT_EVERY_S
                dropped, self._dropped = self._dropped, 0
                self.handleError(record or logging.makeLogRecord(
                    {"msg": "%d access log lines could not be written", "args": (dropped,)}))

    def _write_lines(self, lines):
        self.stream.flush()  # whatever another handler left in the same stream goes first
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.stream.write("".join(lines))  # e.g. a StringIO in tests
            self.stream.flush()
            return
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        errors = getattr(self.stream, "errors", None) or "backslashreplace"
        chunk, size = [], 0
        for line in lines:
            data = line.encode(encoding, errors)
            if size and size + len(data) > select.PIPE_BUF:
                self._write_all(fd, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(data)
            size += len(data)
        self._write_all(fd, b"".join(chunk))

    @staticmethod
    def _write_all(fd, data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]


class GunicornJsonLogger(glogging.Logger):
    """gunicorn logger whose error and access logs are JSON lines on stdout.

    ``access_flush_interval`` (seconds; gunicorn.conf.py picks it from
    GUNICORN_ACCESS_LOG_FLUSH_MS with with_access_flush_interval): when positive, access
    lines on stdout are written in batches (BufferedLineHandler); 0 writes each line at
    once."""

    access_flush_interval = 0.0
    _access_direct = None  # the BufferedLineHandler access() may write to directly

    @classmethod
    def with_access_flush_interval(cls, seconds):
        """This logger class with access lines batched every ``seconds`` (0: not batched)."""
        return type(cls.__name__, (cls,), {"access_flush_interval": float(seconds)})

    def _set_handler(self, log, output, fmt, stream=None):
        if output == "-":
            stream = sys.stdout
        super()._set_handler(log, output, JsonFormatter(), stream=stream)
        if log is self.access_log and output == "-" and self.access_flush_interval > 0:
            plain = self._get_gunicorn_handler(log)
            log.removeHandler(plain)
            buffered = BufferedLineHandler(stream, self.access_flush_interval)
            buffered.setFormatter(plain.formatter)
            buffered._gunicorn = True  # what gunicorn's setup()/_get_gunicorn_handler look for
            log.addHandler(buffered)

    def setup(self, cfg):
        super().setup(cfg)
        # access() hands its line straight to the handler when that is all the logging
        # module would do: building a LogRecord and passing it through Logger.handle() was
        # half of an access line's cost.  Any other set-up (another or a second handler,
        # syslog, a filter, logconfig) takes the logging path.
        log = self.access_log
        only = log.handlers[0] if len(log.handlers) == 1 else None
        self._access_direct = only if (isinstance(only, BufferedLineHandler)
                                       and only.level <= logging.INFO
                                       and not log.filters and not only.filters
                                       and not log.propagate) else None

    def flush_access_log(self):
        for handler in self.access_log.handlers:
            handler.flush()

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict):
            return
        try:
            # The values of gunicorn's atoms() used here, read directly: atoms() also formats
            # a date and copies every request header, response header and environ entry, half
            # of the cost of an access line (measured: 30 -> 15 us).
            status = resp.status
            status = status.split(None, 1)[0] if isinstance(status, str) else str(status)
            fields = {
                "type": "access",
                "remote_addr": environ.get("REMOTE_ADDR", "-"),
                "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING") or None,
                "protocol": environ.get("SERVER_PROTOCOL"),
                "status": int(status) if status.isdigit() else status,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "user_agent": environ.get("HTTP_USER_AGENT", "-"),
                "pid": os.getpid(),
            }
            direct = self._access_direct
            if direct is not None and self.access_log.isEnabledFor(logging.INFO):
                direct.write_line(direct.formatter.line(
                    time.time(), "info", self.access_log.name,
                    "%s %s %s" % (fields["method"], fields["path"], status), fields))
                return
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status,
                                 extra={"json_fields": fields})
        except Exception:
            self.exception("failed to write the access log")
