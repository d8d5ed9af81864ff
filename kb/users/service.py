"""Users and passwords: argon2id hashes, never plain text."""

from __future__ import annotations

import contextlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from kb.audit import service as audit
from kb.models import Role, User, utcnow

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD_LENGTH = 10
# A fixed hash verified against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("kb-dummy-password-for-timing")


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def validate_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    *, session: Session, username: str, password: str, role: str, actor: User | str = "cli"
) -> User:
    """Add a user with a hashed password; errors if the name is taken or invalid."""
    if not USERNAME_RE.match(username):
        raise UserError("username must be 2-64 characters of letters, digits, _ . @ -")
    if role not in {r.value for r in Role}:
        raise UserError(f"role must be one of: {', '.join(r.value for r in Role)}")
    validate_password(password)
    if session.exec(select(User).where(User.username == username)).first():
        raise UserError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"username": username, "role": role},
    )
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (constant-ish time)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    return user


def set_password(*, session: Session, user: User, password: str, actor: User | str) -> None:
    """Replace a user's password (hashed) and audit it without the secret."""
    validate_password(password)
    user.password_hash = hash_password(password)
    session.add(user)
    audit.record(
        session=session, actor=actor, action="user.password", entity_type="user", entity_id=user.id
    )


def bootstrap_admin(*, session: Session, username: str = "admin") -> str | None:
    """Create the first admin with a random password when there are no admins yet.

    Returns the generated password (to be shown once), or None when an admin already exists.
    """
    if session.exec(select(User).where(User.role == Role.admin)).first() is not None:
        return None
    password = secrets.token_urlsafe(18)
    create_user(session=session, username=username, password=password, role=Role.admin, actor="cli")
    return password


def list_users(*, session: Session) -> list[User]:
    """All users by name."""
    return list(session.exec(select(User).order_by(User.username)))
