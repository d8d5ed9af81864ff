"""Sign-in and sign-out. Failed sign-ins are throttled per user name and per address."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from kb.users import service as users
from kb.users import throttle
from kb.web.deps import SESSION_USER_KEY, DbSession
from kb.web.templating import redirect, render

router = APIRouter(tags=["auth"], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only local paths (``/...``, not ``//host`` or ``/\\host``) are allowed as ``next``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t"):
        return "/"
    return target


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password; on success start a fresh session and go to ``next``."""
    target = safe_next(next)
    addr = _client(request)
    context = {"next": target, "username": username}
    if throttle.is_throttled(session=session, username=username, remote_addr=addr):
        context["error"] = (
            "Too many failed sign-ins. Wait 15 minutes and try again, "
            "or ask an administrator to check the account."
        )
        return render(request, "login.html", context, status_code=429)
    user = users.authenticate(session=session, username=username, password=password)
    if user is None:
        throttle.record_failure(session=session, username=username, remote_addr=addr)
        context["error"] = "Wrong user name or password."
        return render(request, "login.html", context, status_code=401)
    throttle.clear_failures(session=session, username=username)
    # A fresh session: nothing from before sign-in survives (new CSRF token too).
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.id
    return redirect(request, target, f"Signed in as {user.username}.")


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session."""
    request.session.clear()
    return redirect(request, "/login", "Signed out.")
