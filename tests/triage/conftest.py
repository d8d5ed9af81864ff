"""Triage view tests reuse the web fixtures: the real app on the test database and clients
signed in per role (tests/web/conftest.py)."""

from tests.web.conftest import app, client, client_as  # noqa: F401
