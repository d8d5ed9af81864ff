"""API tokens for scripts: random secrets shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, col, select

from kb.audit import service as audit
from kb.models import ApiToken, User, utcnow

TOKEN_PREFIX = "kb_"  # noqa: S105 (a public prefix, not a secret)
MAX_NAME = 100


class TokenError(ValueError):
    """A token could not be created or revoked; the message says why."""


def hash_token(token: str) -> str:
    """The stored form of a token (a fast hash is right: tokens are 256 random bits)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(*, session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the secret, which is never stored."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"a token needs a name of 1-{MAX_NAME} characters")
    assert user.id is not None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=user,
        action="api_token.create",
        entity_type="api_token",
        entity_id=row.id,
        after={"name": name, "user": user.username},
    )
    return row, secret


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones included, marked)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    return list(session.exec(query.order_by(col(ApiToken.id).desc())))


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise TokenError("no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session=session,
            actor=user,
            action="api_token.revoke",
            entity_type="api_token",
            entity_id=row.id,
            before={"name": row.name},
        )
    return row


def authenticate_token(*, session: Session, token: str) -> User | None:
    """The active user owning this unrevoked token, else None; notes when it was last used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now  # at most once a minute: no write per API call
        session.add(row)
    return user
