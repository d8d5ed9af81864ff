"""Error responses: HTML pages for the UI, JSON for ``/api``; sign-in redirects."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kb.web.deps import NotAuthenticated
from kb.web.templating import render


def is_api(request: Request) -> bool:
    """True for JSON API paths (``/api/...``)."""
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def login_url(request: Request) -> str:
    """/login, with ``next`` pointing back here for page loads (GET)."""
    if request.method != "GET":
        return "/login"
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return "/login?next=" + quote(target, safe="")


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse(
            {"detail": "authentication required: send Authorization: Bearer <token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return RedirectResponse(login_url(request), status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if is_api(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    response = render(
        request,
        "error.html",
        {"status": exc.status_code, "detail": exc.detail},
        status_code=exc.status_code,
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_api(request):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'input'}: {e.get('msg')}"
        for e in exc.errors()
    )
    return render(
        request,
        "error.html",
        {"status": 400, "detail": f"Bad input: {problems}"},
        status_code=400,
    )


def install(app: FastAPI) -> None:
    """Register the handlers."""
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
