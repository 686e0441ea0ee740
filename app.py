"""Local entry point: ``python app.py`` or ``flask --app app run`` (``make run`` uses gunicorn)."""

from messenger import create_app

app = create_app()

if __name__ == "__main__":
    settings = app.extensions["messenger"].settings
    app.run(host=settings.host, port=settings.port)
