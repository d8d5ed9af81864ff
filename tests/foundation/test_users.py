"""Users: hashed passwords, authentication, validation, audit."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from kb.models import AuditLog, User
from kb.users import service as users


def test_password_is_hashed_and_verifies(session: Session) -> None:
    user = users.create_user(
        session=session, username="ana", password="correct horse", role="analyst"
    )
    session.commit()
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert users.authenticate(session=session, username="ana", password="correct horse") is not None
    assert users.authenticate(session=session, username="ana", password="wrong password") is None
    assert users.authenticate(session=session, username="nobody", password="correct horse") is None


def test_disabled_user_cannot_sign_in(session: Session) -> None:
    user = users.create_user(
        session=session, username="old", password="long enough pw", role="viewer"
    )
    user.active = False
    session.commit()
    assert users.authenticate(session=session, username="old", password="long enough pw") is None


@pytest.mark.parametrize(
    ("name", "password", "role", "error"),
    [
        ("x", "long enough pw", "viewer", "username"),
        ("bad name", "long enough pw", "viewer", "username"),
        ("ok", "short", "viewer", "at least 10"),
        ("ok", "long enough pw", "root", "role must be"),
    ],
)
def test_invalid_users_are_refused(session: Session, name, password, role, error) -> None:
    with pytest.raises(users.UserError, match=error):
        users.create_user(session=session, username=name, password=password, role=role)


def test_duplicate_user_is_refused_and_creation_is_audited(session: Session) -> None:
    users.create_user(session=session, username="ana", password="long enough pw", role="admin")
    session.commit()
    with pytest.raises(users.UserError, match="already exists"):
        users.create_user(session=session, username="ana", password="long enough pw", role="admin")
    entries = session.exec(select(AuditLog).where(AuditLog.action == "user.create")).all()
    assert len(entries) == 1
    assert entries[0].after == {"username": "ana", "role": "admin"}
    assert len(session.exec(select(User)).all()) == 1
