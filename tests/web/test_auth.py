"""Sign-in, sign-out, throttling, CSRF and security headers, over the real app and database."""

from __future__ import annotations

from sqlmodel import Session, select

from kb.models import LoginAttempt
from kb.web.security import SESSION_COOKIE
from tests.web.factories import PASSWORD, csrf_from, login, make_user, soup


def test_anonymous_page_redirects_to_login_with_next(client):
    response = client.get("/vendors?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fvendors%3Fx%3D1"


def test_login_then_logout(client, session: Session):
    make_user(session, username="vera", role="viewer")
    response = login(client, "vera", next="/vendors")
    assert response.status_code == 303
    assert response.headers["location"] == "/vendors"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = client.get("/")
    assert page.status_code == 200
    account = soup(page).select_one(".account")
    assert account is not None and "vera" in account.get_text()
    token = csrf_from(page.text)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_recorded(client, session: Session):
    make_user(session, username="vera", role="viewer")
    response = login(client, "vera", password="wrong password!")
    assert response.status_code == 401
    alert = soup(response).select_one("[role=alert]")
    assert alert is not None and "Wrong user name or password" in alert.get_text()
    assert session.exec(select(LoginAttempt)).all()


def test_throttled_after_five_failures_even_with_right_password(client, session: Session):
    make_user(session, username="vera", role="viewer")
    for _ in range(5):
        assert login(client, "vera", password="nope nope nope").status_code == 401
    response = login(client, "vera", password=PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in soup(response).select_one("[role=alert]").get_text()


def test_success_clears_failures(client, session: Session):
    make_user(session, username="vera", role="viewer")
    for _ in range(4):
        login(client, "vera", password="nope nope nope")
    assert login(client, "vera").status_code == 303
    session.expire_all()
    assert session.exec(select(LoginAttempt)).all() == []


def test_next_only_to_local_paths(client, session: Session):
    make_user(session, username="vera", role="viewer")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        response = login(client, "vera", next=target)
        assert response.headers["location"] == "/", target
        client.cookies.clear()


def test_post_without_csrf_token_is_rejected(client, session: Session):
    make_user(session, username="vera", role="viewer")
    client.get("/login")
    response = client.post(
        "/login", data={"username": "vera", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    bad = client.post(
        "/login",
        data={"username": "vera", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert bad.status_code == 403


def test_csrf_header_is_accepted(client, session: Session):
    make_user(session, username="vera", role="viewer")
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "vera", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_session_is_regenerated_on_login(client, session: Session):
    make_user(session, username="vera", role="viewer")
    before = csrf_from(client.get("/login").text)
    login(client, "vera")
    after = csrf_from(client.get("/").text)
    assert before != after


def test_disabled_user_loses_session(client, session: Session):
    user = make_user(session, username="vera", role="viewer")
    login(client, "vera")
    assert client.get("/", follow_redirects=False).status_code == 200
    user.active = False
    session.add(user)
    session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_security_headers_on_every_kind_of_response(client, session: Session):
    make_user(session, username="vera", role="viewer")
    for path in ("/login", "/static/kb.css", "/", "/no-such-page", "/openapi.json"):
        headers = client.get(path, follow_redirects=False).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
    login(client, "vera")
    assert client.get("/").headers["cache-control"] == "no-store"


def test_secure_cookie_over_https(app, session: Session):
    from starlette.testclient import TestClient

    make_user(session, username="vera", role="viewer")
    with TestClient(app, base_url="https://testserver") as c:
        response = login(c, "vera")
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()


def test_pages_have_no_inline_script_or_style(client, session: Session):
    make_user(session, username="vera", role="viewer")
    login(client, "vera")
    for path in ("/login", "/"):
        doc = soup(client.get(path))
        for script in doc.find_all("script"):
            assert script.get("src", "").startswith("/static/"), path
            assert not script.get_text(strip=True)
        assert not doc.find_all("style")
        assert not doc.find_all(attrs={"style": True})


def test_csrf_checked_on_multipart_and_json_posts(client, session: Session):
    make_user(session, username="vera", role="viewer")
    token = csrf_from(client.get("/login").text)
    files = {"name": (None, "x")}
    assert client.post("/tokens", files=files, follow_redirects=False).status_code == 403
    ok = client.post(
        "/login",
        files={
            "username": (None, "vera"),
            "password": (None, PASSWORD),
            "csrf_token": (None, token),
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert client.post("/logout", json={"a": 1}, follow_redirects=False).status_code == 403


def test_api_token_last_used_is_recorded(client, session: Session):
    from kb.models import ApiToken
    from kb.users import tokens

    user = make_user(session, username="vera", role="viewer")
    row, secret = tokens.create_token(session=session, user=user, name="t")
    session.commit()
    assert client.get("/api/v1/vendors", headers={"Authorization": f"Bearer {secret}"}).is_success
    session.expire_all()
    assert session.get(ApiToken, row.id).last_used_at is not None


def test_server_error_still_carries_the_security_headers(app):
    from starlette.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom-for-test", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom-for-test")
    assert response.status_code == 500
    assert response.text == "Internal server error."
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
