"""Pages: user administration (admin) and each user's own API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from kb.models import Role, User
from kb.users import admin, tokens
from kb.users import service as users
from kb.web.deps import Admin, DbSession, Viewer
from kb.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

ROLES = [r.value for r in Role]


def _user_or_404(session: DbSession, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="no such user")
    return user


@router.get("/users")
def user_list(request: Request, session: DbSession, actor: Admin) -> Response:
    """Every account, with forms to add one, change a role, or disable."""
    return render(
        request,
        "users/list.html",
        {"users": users.list_users(session=session), "roles": ROLES, "form": {}},
    )


@router.post("/users")
def user_add(
    request: Request,
    session: DbSession,
    actor: Admin,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "viewer",
) -> Response:
    """Add an account (the password is hashed; the form keeps what was typed on error)."""
    try:
        users.create_user(
            session=session, username=username, password=password, role=role, actor=actor
        )
    except users.UserError as exc:
        return render(
            request,
            "users/list.html",
            {
                "users": users.list_users(session=session),
                "roles": ROLES,
                "form": {"username": username, "role": role},
                "error": str(exc),
            },
            status_code=400,
        )
    return redirect(request, "/users", f"User {username} added as {role}.")


@router.post("/users/{user_id}/role")
def user_role(
    request: Request,
    session: DbSession,
    actor: Admin,
    user_id: int,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Change a user's role."""
    user = _user_or_404(session, user_id)
    try:
        admin.set_role(session=session, user=user, role=role, actor=actor)
    except users.UserError as exc:
        return redirect(request, "/users", str(exc), "error")
    return redirect(request, "/users", f"{user.username} is now {user.role}.")


@router.post("/users/{user_id}/active")
def user_active(
    request: Request,
    session: DbSession,
    actor: Admin,
    user_id: int,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Enable (active=1) or disable (active=0) an account."""
    if active not in ("0", "1"):
        raise HTTPException(status_code=400, detail="active must be 0 or 1")
    user = _user_or_404(session, user_id)
    try:
        admin.set_active(session=session, user=user, active=active == "1", actor=actor)
    except users.UserError as exc:
        return redirect(request, "/users", str(exc), "error")
    state = "enabled" if user.active else "disabled"
    return redirect(request, "/users", f"{user.username} is {state}.")


@router.get("/tokens")
def token_list(request: Request, session: DbSession, user: Viewer) -> Response:
    """The signed-in user's API tokens."""
    return render(
        request, "tokens/list.html", {"tokens": tokens.list_tokens(session=session, user=user)}
    )


@router.post("/tokens")
def token_create(
    request: Request,
    session: DbSession,
    user: Viewer,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a token and show its secret once (it is stored only as a hash)."""
    try:
        row, secret = tokens.create_token(session=session, user=user, name=name)
    except tokens.TokenError as exc:
        return render(
            request,
            "tokens/list.html",
            {"tokens": tokens.list_tokens(session=session, user=user), "error": str(exc)},
            status_code=400,
        )
    return render(
        request,
        "tokens/list.html",
        {
            "tokens": tokens.list_tokens(session=session, user=user),
            "new_token": secret,
            "new_token_name": row.name,
        },
    )


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, session: DbSession, user: Viewer, token_id: int) -> Response:
    """Revoke one of your own tokens."""
    try:
        row = tokens.revoke_token(session=session, user=user, token_id=token_id)
    except tokens.TokenError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return redirect(request, "/tokens", f"Token {row.name} revoked.")
