"""Every registered route enforces sign-in and roles: walk app.routes and call each one.

Generic on purpose: routes added later by any module in ROUTER_MODULES are walked too.
"""

from __future__ import annotations

import re

import pytest

from tests.web.factories import page_csrf

# Routes anyone may call without signing in.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
PUBLIC_PATHS = {"/openapi.json", "/healthz", "/docs", "/docs/oauth2-redirect"}
# State-changing routes a viewer may call: their own session and API tokens.
VIEWER_WRITES = {
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/tokens"),
    ("POST", "/tokens/{token_id}/revoke"),
}
ADMIN_PREFIXES = ("/audit", "/users")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def all_routes(app):
    """Every route with its full path, including those of included routers (FastAPI >= 0.13x
    keeps included routers as nodes of app.routes; iter_route_contexts flattens them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def walk(app):
    """(method, path template, concrete path) for every route and method (mounts excluded)."""
    for route in all_routes(app):
        if not getattr(route, "methods", None):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, route.path, concrete


def call(client, method: str, path: str, csrf: str):
    return client.request(method, path, headers={"X-CSRF-Token": csrf}, follow_redirects=False)


def test_every_route_needs_sign_in(app, client):
    csrf = page_csrf(client)
    checked = 0
    for method, template, path in walk(app):
        if (method, template) in PUBLIC or template in PUBLIC_PATHS:
            continue
        response = call(client, method, path, csrf)
        if template.startswith("/api/"):
            assert response.status_code == 401, (method, template, response.status_code)
            assert response.headers["content-type"].startswith("application/json")
        else:
            assert response.status_code == 303, (method, template, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, template)
        checked += 1
    assert checked >= 10


def test_the_walk_sees_every_router(app):
    from kb.web.routers import ROUTER_MODULES

    paths = {template for _m, template, _p in walk(app)}
    assert {"/login", "/", "/users", "/api/v1/vendors"} <= paths
    assert len(ROUTER_MODULES) >= 5


def test_viewer_cannot_change_anything(app, client_as):
    viewer = client_as("viewer")
    csrf = page_csrf(viewer, "/")
    checked = 0
    for method, template, path in walk(app):
        if method not in UNSAFE or (method, template) in VIEWER_WRITES:
            continue
        response = call(viewer, method, path, csrf)
        assert response.status_code == 403, (method, template, response.status_code)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_admins_reach_admin_pages(app, client_as, role):
    someone = client_as(role)
    csrf = page_csrf(someone, "/")
    checked = 0
    for method, template, path in walk(app):
        if not template.startswith(ADMIN_PREFIXES):
            continue
        response = call(someone, method, path, csrf)
        assert response.status_code == 403, (method, template, response.status_code)
        checked += 1
    assert checked >= 4


def test_invalid_api_token_is_401_not_a_cookie_fallback(app, client_as):
    viewer = client_as("viewer")
    for _method, template, path in walk(app):
        if template.startswith("/api/"):
            response = viewer.get(path, headers={"Authorization": "Bearer kb_nope"})
            assert response.status_code in (401, 405), template
