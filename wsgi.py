"""WSGI entry point for gunicorn: `gunicorn -w 4 wsgi:app`. Configuration comes from the environment."""

from caseapp import create_app

app = create_app()
