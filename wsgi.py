"""The gunicorn target: ``gunicorn -c gunicorn.conf.py wsgi:app``."""

from messenger import create_app

app = create_app()
