"""The app, plus one failure injected around it for tests: a request carrying
``X-Test-Die-After-Commit`` SIGKILLs its gunicorn worker after the view returned (the row is
committed) and before gunicorn writes a byte of the reply.  Used only by the tests, through
``gunicorn ... tests.killer_wsgi:application``."""
import os
import signal

from wsgi import application as _app


def application(environ, start_response):
    body = _app(environ, start_response)
    if environ.get("HTTP_X_TEST_DIE_AFTER_COMMIT"):
        os.kill(os.getpid(), signal.SIGKILL)
    return body
