"""JSON logging: the batched access log (jsonlog.BufferedLineHandler) and its direct path."""
import datetime
import io
import json
import logging
import os
import select
import time

import pytest
from gunicorn.config import Config

from clients_service.jsonlog import BufferedLineHandler, GunicornJsonLogger, JsonFormatter

from .conftest import Gunicorn


def _record(message):
    return logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, message, None, None)


def _read_available(fd, timeout):
    """Everything readable on ``fd`` within ``timeout`` seconds of the first byte."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.05)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        elif data:
            break
    return data


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    yield read_fd, stream
    stream.close()
    os.close(read_fd)


def test_lines_are_written_whole_in_order_and_in_pipe_atomic_writes(pipe, monkeypatch):
    read_fd, stream = pipe
    writes = []
    real_write = BufferedLineHandler._write_all
    monkeypatch.setattr(BufferedLineHandler, "_write_all",
                        staticmethod(lambda fd, data: (writes.append(data), real_write(fd, data))))
    handler = BufferedLineHandler(stream, interval=60)  # only flush() writes here
    handler.setFormatter(logging.Formatter("%(message)s"))
    lines = ["line %03d %s" % (i, "é" * (i % 200)) for i in range(150)]  # ~30 KB, multibyte
    for line in lines:
        handler.handle(_record(line))
    assert writes == []  # nothing written before the interval or MAX_PENDING
    handler.flush()
    assert len(writes) > 1
    for data in writes:
        # several workers share one stdout pipe: only writes <= PIPE_BUF are atomic there
        assert len(data) <= select.PIPE_BUF and data.endswith(b"\n")
    assert b"".join(writes).decode("utf-8").splitlines() == lines
    assert _read_available(read_fd, 1).decode("utf-8").splitlines() == lines


def test_pending_lines_are_written_within_the_interval_without_another_line(pipe):
    read_fd, stream = pipe
    handler = BufferedLineHandler(stream, interval=0.1)
    handler.setFormatter(logging.Formatter("%(message)s"))
    started = time.monotonic()
    handler.handle(_record("only line"))
    assert _read_available(read_fd, 3) == b"only line\n"
    assert time.monotonic() - started < 2


def test_max_pending_bytes_are_written_at_once(pipe, monkeypatch):
    read_fd, stream = pipe
    monkeypatch.setattr(BufferedLineHandler, "MAX_PENDING", 8000)  # below the pipe's capacity
    handler = BufferedLineHandler(stream, interval=60)
    handler.setFormatter(logging.Formatter("%(message)s"))
    line = "x" * 999  # 1,000 bytes with the newline
    for _ in range(7):
        handler.handle(_record(line))
    assert _read_available(read_fd, 0.2) == b""
    handler.handle(_record(line))  # reaches MAX_PENDING
    assert len(_read_available(read_fd, 2)) == 8000


@pytest.fixture
def gunicorn_loggers(monkeypatch):
    """gunicorn's loggers are process-wide: each test starts them bare and gets them back."""
    for name in ("gunicorn.access", "gunicorn.error"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])


def test_a_failed_write_is_reported_and_later_lines_still_go_out(monkeypatch):
    """stdout closed under the worker (EPIPE): the error is reported the way logging reports
    a handler's errors, and the flusher keeps running for the lines that follow."""
    errors = []
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody reads: os.write raises BrokenPipeError
    broken = os.fdopen(write_fd, "w", encoding="utf-8")
    handler = BufferedLineHandler(broken, interval=0.05)
    handler.setFormatter(logging.Formatter("%(message)s"))
    monkeypatch.setattr(handler, "handleError", lambda record: errors.append(record))
    handler.handle(_record("lost"))
    deadline = time.monotonic() + 3
    while not errors and time.monotonic() < deadline:
        time.sleep(0.02)
    assert errors and errors[0].getMessage() == "1 access log lines could not be written"
    for line in ("lost too", "and this"):
        handler.handle(_record(line))
        time.sleep(0.2)  # several intervals, each failing
    assert len(errors) == 1  # reported once a minute at most, not every interval
    good_read, good_write = os.pipe()
    os.set_blocking(good_read, False)
    with os.fdopen(good_write, "w", encoding="utf-8") as good:
        handler.setStream(good)
        handler.handle(_record("after"))
        assert _read_available(good_read, 3) == b"after\n"  # the same flusher thread
    os.close(good_read)
    try:
        broken.close()
    except BrokenPipeError:
        pass


def test_a_forked_child_does_not_write_its_parents_pending_lines(pipe):
    read_fd, stream = pipe
    handler = BufferedLineHandler(stream, interval=60)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(_record("parent's line"))
    pid = os.fork()
    if pid == 0:  # the child: flush() (e.g. logging.shutdown at its exit) writes nothing
        try:
            handler.flush()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert _read_available(read_fd, 0.3) == b""
    handler.flush()
    assert _read_available(read_fd, 2) == b"parent's line\n"  # once, by its owner


def test_worker_exit_hook_writes_pending_access_lines(monkeypatch):
    import runpy

    from .conftest import APP_DIR
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # gunicorn.conf.py sets them
    conf = runpy.run_path(os.path.join(APP_DIR, "gunicorn.conf.py"))
    flushed = []

    class Log:
        def flush_access_log(self):
            flushed.append(True)

    class Worker:
        log = Log()

    conf["worker_exit"](None, Worker())
    assert flushed == [True]


def _logger(interval):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    return GunicornJsonLogger.with_access_flush_interval(interval)(cfg)


class _Resp:
    status = "201 CREATED"
    sent = 57


_ENVIRON = {"REMOTE_ADDR": "10.0.0.7", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
            "REQUEST_METHOD": "POST", "PATH_INFO": "/clients", "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "curl/8 é"}


def test_direct_access_line_is_the_line_the_logging_path_writes(monkeypatch, gunicorn_loggers):
    logger = _logger(60)
    handler = logger._access_direct
    assert isinstance(handler, BufferedLineHandler)  # the shipped set-up takes the direct path
    out = io.StringIO()
    monkeypatch.setattr(handler, "stream", out)  # no fileno(): written as text
    monkeypatch.setattr(time, "time", lambda: 1767323045.6789)
    request_time = datetime.timedelta(microseconds=1234)
    logger.access(_Resp(), None, _ENVIRON, request_time)
    monkeypatch.setattr(logger, "_access_direct", None)  # the logging module's path
    logger.access(_Resp(), None, _ENVIRON, request_time)
    handler.flush()
    direct, via_logging = out.getvalue().splitlines()
    assert direct == via_logging
    entry = json.loads(direct)
    assert list(entry)[:4] == ["time", "level", "logger", "message"]
    assert entry["time"] == "2026-01-02T03:04:05.678Z" and entry["message"] == "POST /clients 201"
    assert (entry["status"], entry["bytes"], entry["duration_ms"], entry["user_agent"]) == (
        201, 57, 1.234, "curl/8 é")


def test_access_log_set_ups_that_are_not_plain_take_the_logging_path(gunicorn_loggers):
    assert not isinstance(_logger(0)._access_direct, BufferedLineHandler)
    logger = _logger(0.2)
    logger.access_log.addHandler(logging.NullHandler())  # e.g. syslog beside stdout
    logger.setup(logger.cfg)
    assert logger._access_direct is None
    assert isinstance(JsonFormatter().line(0, "info", "x", "m"), str)


def test_gunicorn_writes_every_access_line_by_shutdown(tmp_path):
    """With a 60 s interval nothing is written while the server runs; every line still
    reaches stdout when the workers stop (worker_exit flushes; logging.shutdown would too)."""
    server = Gunicorn({"SQLITE_PATH": str(tmp_path / "c.db"), "WEB_CONCURRENCY": "2",
                       "GUNICORN_ACCESS_LOG_FLUSH_MS": "60000"}, str(tmp_path))
    try:
        for i in range(40):
            assert server.request("GET", "/time?n=%d" % i)[0] == 200
        time.sleep(0.5)
        assert '"query": "n=' not in server.log()  # batched: nothing written yet
    finally:
        code = server.stop()
    with open(server.log_path, encoding="utf-8") as f:
        text = f.read()
    assert code == 0, text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]
    queries = sorted(e["query"] for e in entries
                     if e.get("type") == "access" and e["path"] == "/time")
    assert queries == sorted("n=%d" % i for i in range(40))


def test_gunicorn_access_lines_arrive_within_the_flush_interval(tmp_path):
    server = Gunicorn({"SQLITE_PATH": str(tmp_path / "c.db"), "WEB_CONCURRENCY": "1",
                       "GUNICORN_ACCESS_LOG_FLUSH_MS": "200"}, str(tmp_path))
    try:
        assert server.request("GET", "/time?marker=1")[0] == 200
        deadline = time.monotonic() + 3
        while '"query": "marker=1"' not in server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"query": "marker=1"' in server.log()
    finally:
        server.stop()
