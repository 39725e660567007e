"""WSGI entry point: ``gunicorn --config gunicorn.conf.py wsgi:application``."""
from clients_service import create_app

application = create_app()
app = application  # the name Elastic Beanstalk's default WSGIPath / Flask tooling look for
