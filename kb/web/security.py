"""Session cookies, CSRF protection and security headers, as ASGI middleware so that no route
can forget them.

- The session is a signed cookie (Starlette's SessionMiddleware, itsdangerous underneath)
  keyed by ``settings.effective_secret_key()``: HttpOnly, SameSite=Lax, Secure on https.
- CSRF: every session carries a random token; every unsafe request (POST, PUT, PATCH, DELETE)
  must echo it in the form field ``csrf_token`` or the header ``X-CSRF-Token``. Requests that
  authenticate with ``Authorization: Bearer <api token>`` are exempt: a browser never adds
  that header cross-site, so they cannot be forged (and the cookie is then ignored).
- Every response carries a strict Content-Security-Policy (no inline script or style), nosniff,
  Referrer-Policy, X-Frame-Options; everything outside /static is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.config import Settings

SESSION_COOKIE = "kb_session"
SESSION_MAX_AGE = 12 * 60 * 60  # seconds: a working day, then sign in again
CSRF_SESSION_KEY = "csrf_token"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_FORM_BYTES = 5 * 1024 * 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csrf_token(request: HTTPConnection) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_SESSION_KEY] = token
    return token


def has_bearer(headers: Any) -> bool:
    """True when the request carries ``Authorization: Bearer ...`` (API token auth)."""
    value = headers.get("authorization", "")
    return isinstance(value, str) and value[:7].lower() == "bearer "


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


async def _plain_response(scope: Scope, send: Send, status: int, message: str) -> None:
    """A minimal text or JSON error response (the middleware sits outside the templates)."""
    if _is_api(scope.get("path", "")):
        body = json.dumps({"detail": message}).encode()
        ctype = b"application/json"
    else:
        body = message.encode("utf-8")
        ctype = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class CSRFMiddleware:
    """Refuses unsafe requests whose CSRF token is missing or wrong (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if has_bearer(request.headers):
            await self.app(scope, receive, send)
            return
        expected = request.session.get(CSRF_SESSION_KEY)
        given = request.headers.get(CSRF_HEADER)
        ctype = request.headers.get("content-type", "")
        if not given and ctype.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_FORM_BYTES:
                    await _plain_response(scope, send, 413, "The form is too large.")
                    return
            original = receive
            receive = _replay(body, original)
            form_request = Request(scope, _replay(body, original))
            try:
                form = await form_request.form()
            except Exception:
                await _plain_response(scope, send, 400, "The form could not be read.")
                return
            value = form.get(CSRF_FORM_FIELD)
            given = value if isinstance(value, str) else None
            await form.close()
        if not (isinstance(expected, str) and expected and given and _same(expected, given)):
            await _plain_response(
                scope,
                send,
                403,
                "CSRF check failed: reload the page and try again "
                "(send the form's csrf_token or the X-CSRF-Token header).",
            )
            return
        await self.app(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands out ``body`` once, then defers to the original."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, no-store outside /static, and the Secure
    flag to cookies when the request came over https."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        https = scope.get("scheme") == "https"
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not path.startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
                if https:
                    raw = message["headers"]
                    message["headers"] = [
                        (k, v + b"; secure")
                        if k.lower() == b"set-cookie" and b"secure" not in v.lower()
                        else (k, v)
                        for k, v in raw
                    ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # Answer an unexpected error here, with the headers, before it propagates to the
            # server's error handling (which then only logs it).
            if not started:
                await _plain_response(scope, send_wrapper, 500, "Internal server error.")
            raise


def install(app: Any, settings: Settings) -> None:
    """Add the middleware in the right order: headers outside, then session, then CSRF."""
    app.add_middleware(CSRFMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.effective_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=False,  # the Secure flag is added per request on https (see above)
    )
    app.add_middleware(SecurityHeadersMiddleware)
