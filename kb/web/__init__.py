"""The web UI and JSON API (FastAPI + Jinja2). Build it with ``kb.web.app.create_app``."""
