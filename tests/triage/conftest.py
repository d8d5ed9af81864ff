"""Triage view tests reuse the web fixtures: the real app on the test database, clients signed
in per role, and light argon2 parameters (tests/web/conftest.py)."""

from tests.web.conftest import app, client, client_as, quick_password_hashing  # noqa: F401
