"""Request dependencies: the database session (the request owns the transaction), the signed-in
user (session cookie or API token) and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from kb.models import Role, User
from kb.users import tokens
from kb.web.security import has_bearer

SESSION_USER_KEY = "uid"
ROLE_RANK = {Role.viewer.value: 1, Role.analyst.value: 2, Role.admin.value: 3}


@dataclass(frozen=True)
class SignedIn:
    """Who is signed in, as templates see it (plain values: safe after a rollback)."""

    id: int
    username: str
    role: str
    auth: str  # "session" | "token"


def _remember(request: Request, user: User | None, auth: str) -> None:
    request.state.user = (
        SignedIn(id=user.id, username=user.username, role=user.role, auth=auth)
        if user is not None and user.id is not None
        else None
    )


class NotAuthenticated(Exception):
    """Nobody is signed in: HTML requests go to /login, API requests get 401."""


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request: committed when the handler succeeds, rolled back on error."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# "function" scope: commit before the response is sent, so a redirect never outruns the data.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def current_user(request: Request, session: DbSession) -> User | None:
    """The signed-in user (API token first, else the session cookie), or None."""
    if has_bearer(request.headers):
        token = request.headers["authorization"][7:].strip()
        user = tokens.authenticate_token(session=session, token=token)
        if user is None:
            raise HTTPException(
                status_code=401,
                detail="invalid or revoked API token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        _remember(request, user, "token")
        return user
    user_id = request.session.get(SESSION_USER_KEY)
    user = None
    if isinstance(user_id, int):
        user = session.get(User, user_id)
        if user is None or not user.active:
            request.session.clear()
            user = None
    _remember(request, user, "session")
    return user


CurrentUser = Annotated[User | None, Depends(current_user)]


def has_role(user: User | None, role: str) -> bool:
    """True when the user's role is ``role`` or above (viewer < analyst < admin)."""
    return user is not None and ROLE_RANK.get(user.role, 0) >= ROLE_RANK[role]


def require_role(role: str) -> Callable[..., Awaitable[User]]:
    """A dependency that returns the signed-in user with at least ``role``, else 401/403."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(user: CurrentUser) -> User:  # no I/O: no thread hop
        if user is None:
            raise NotAuthenticated
        if not has_role(user, role):
            raise HTTPException(status_code=403, detail=f"this needs the {role} role")
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


require_viewer = require_role(Role.viewer.value)
require_analyst = require_role(Role.analyst.value)
require_admin = require_role(Role.admin.value)

Viewer = Annotated[User, Depends(require_viewer)]
Analyst = Annotated[User, Depends(require_analyst)]
Admin = Annotated[User, Depends(require_admin)]
