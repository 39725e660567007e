"""Raw HTTP against a real gunicorn (SQLite backend): what a WSGI test client cannot send."""
import json
import socket

import pytest

from .conftest import Gunicorn

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def gunicorn_sqlite(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn-sqlite")
    server = Gunicorn({"SQLITE_PATH": str(tmp / "clients.sqlite3"), "WEB_CONCURRENCY": "1",
                       "GUNICORN_THREADS": "4"}, str(tmp))
    yield server
    assert server.stop() == 0, server.log()


def raw_request(port, head, chunks=(), timeout=10):
    """Send a request head and a chunked body; return (status, parsed JSON body or None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if chunks:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer 413 and close before reading the rest
        data = b""
        while True:
            try:
                part = sock.recv(65536)
            except ConnectionResetError:
                break
            if not part:
                break
            data += part
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                headers = data[:head_end].decode("latin-1").lower()
                length = [int(line.split(":", 1)[1]) for line in headers.split("\r\n")
                          if line.startswith("content-length:")]
                if length and len(data) >= head_end + 4 + length[0]:
                    break
    status = int(data.split(b" ", 2)[1])
    body = data.split(b"\r\n\r\n", 1)[1]
    return status, (json.loads(body) if body.startswith(b"{") else body)


def chunked_head(path, content_type="application/json"):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            % (path.encode(), content_type.encode()))


def split(data, size=4096):
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_chunked_json_body_over_limit_is_413(gunicorn_sqlite):
    body = json.dumps({"name": "a" * 100000, "money": "1"}).encode()
    status, reply = raw_request(gunicorn_sqlite.port, chunked_head("/clients"), split(body))
    assert status == 413, reply


def test_chunked_valid_json_padded_past_limit_is_413(gunicorn_sqlite):
    body = b'{"name": "pad", "money": "1"}' + b" " * 100000
    status, reply = raw_request(gunicorn_sqlite.port, chunked_head("/clients"), split(body))
    assert status == 413, reply
    names = [c["name"] for c in gunicorn_sqlite.request("GET", "/getall")[1]]
    assert "pad" not in names


def test_chunked_form_body_over_limit_is_413(gunicorn_sqlite):
    body = b"name=form&money=1&x=" + b"y" * 100000
    status, reply = raw_request(gunicorn_sqlite.port,
                                chunked_head("/add", "application/x-www-form-urlencoded"),
                                split(body))
    assert status == 413, reply


def test_chunked_body_at_the_limit_is_accepted(gunicorn_sqlite):
    body = b'{"name": "edge", "money": "1"}'
    body += b" " * (LIMIT - len(body))
    status, reply = raw_request(gunicorn_sqlite.port, chunked_head("/clients"), split(body))
    assert status == 201, reply
    assert reply["name"] == "edge"


def test_chunked_multipart_body_over_limit_is_413(gunicorn_sqlite):
    body = (b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nmp\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"money\"\r\n\r\n1\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + b"y" * 100000
            + b"\r\n--b--\r\n")
    status, reply = raw_request(gunicorn_sqlite.port,
                                chunked_head("/add", "multipart/form-data; boundary=b"),
                                split(body))
    assert status == 413, reply


def test_content_length_over_limit_is_413_before_reading(gunicorn_sqlite):
    head = (b"POST /clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\nConnection: close\r\n\r\n")
    status, reply = raw_request(gunicorn_sqlite.port, head)  # body never sent
    assert status == 413 and "error" in reply
