"""Users, API tokens, the audit log and the taxonomy pages, with their audit trail."""

from __future__ import annotations

from sqlmodel import Session, select

from kb.models import ApiToken, AuditLog, Category, User
from kb.users import tokens
from tests.web.factories import PASSWORD, login, page_csrf, soup


def test_admin_adds_user_changes_role_and_disables(client_as, session: Session, app):
    admin = client_as("admin")
    csrf = page_csrf(admin, "/users")
    added = admin.post(
        "/users",
        data={"username": "newbie", "password": PASSWORD, "role": "viewer", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    user = session.exec(select(User).where(User.username == "newbie")).one()
    assert user.role == "viewer" and user.password_hash != PASSWORD
    admin.post(f"/users/{user.id}/role", data={"role": "analyst", "csrf_token": csrf})
    admin.post(f"/users/{user.id}/active", data={"active": "0", "csrf_token": csrf})
    session.expire_all()
    user = session.get(User, user.id)
    assert user.role == "analyst" and not user.active
    actions = [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert {"user.create", "user.role", "user.disable"} <= set(actions)
    row = soup(admin.get("/users")).select_one('tr[data-user="newbie"]')
    assert "disabled" in row.get_text()


def test_bad_new_user_keeps_the_form_and_says_why(client_as, session: Session):
    admin = client_as("admin")
    csrf = page_csrf(admin, "/users")
    response = admin.post(
        "/users",
        data={"username": "shorty", "password": "short", "role": "viewer", "csrf_token": csrf},
    )
    assert response.status_code == 400
    page = soup(response)
    assert "at least 10" in page.select_one("[role=alert]").get_text()
    assert page.find("input", attrs={"name": "username"})["value"] == "shorty"
    assert session.exec(select(User).where(User.username == "shorty")).first() is None


def test_last_admin_cannot_be_demoted(client_as, session: Session):
    admin = client_as("admin")
    me = session.exec(select(User).where(User.role == "admin")).one()
    csrf = page_csrf(admin, "/users")
    response = admin.post(f"/users/{me.id}/role", data={"role": "viewer", "csrf_token": csrf})
    assert "last active admin" in soup(response).select_one(".flash-error").get_text()
    session.expire_all()
    assert session.get(User, me.id).role == "admin"


def test_token_shown_once_works_and_can_be_revoked(client_as, client, session: Session):
    viewer = client_as("viewer")
    csrf = page_csrf(viewer, "/tokens")
    page = soup(viewer.post("/tokens", data={"name": "script", "csrf_token": csrf}))
    secret = page.select_one("#new-token").get_text(strip=True)
    assert secret.startswith("kb_")
    row = session.exec(select(ApiToken)).one()
    assert row.token_hash == tokens.hash_token(secret) and secret not in row.token_hash
    assert secret not in viewer.get("/tokens").text  # shown once only
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/vendors", headers=auth).status_code == 200
    # A bearer request needs no CSRF token, and a viewer token still cannot write.
    assert client.post("/taxonomy/lawsuit", headers=auth).status_code == 403
    viewer.post(f"/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    assert client.get("/api/v1/vendors", headers=auth).status_code == 401


def test_cannot_revoke_someone_elses_token(client_as, session: Session):
    owner = session.exec(select(User)).first()
    other = client_as("viewer")
    owner = session.exec(select(User)).one()
    row, _ = tokens.create_token(session=session, user=owner, name="mine")
    session.commit()
    intruder = client_as("analyst")
    csrf = page_csrf(intruder, "/tokens")
    response = intruder.post(f"/tokens/{row.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(ApiToken, row.id).revoked_at is None
    del other


def test_audit_log_paginates_and_filters(client_as, session: Session):
    from kb.audit import service as audit

    for i in range(60):
        audit.record(
            session=session, actor="cli", action="x.test", entity_type="thing", entity_id=i
        )
    session.commit()
    admin = client_as("admin")
    first = soup(admin.get("/audit?entity_type=thing"))
    assert len(first.select("table.audit tbody tr")) == 50
    assert "Page 1 of 2" in first.select_one(".pagination").get_text()
    nxt = first.select_one(".pagination a[rel=next]")["href"]
    assert "entity_type=thing" in nxt and "page=2" in nxt
    second = soup(admin.get(nxt))
    assert len(second.select("table.audit tbody tr")) == 10


def test_taxonomy_edit_records_edited_fields_and_audit(client_as, catalog: Session):
    session = catalog
    analyst = client_as("analyst")
    page = soup(analyst.get("/taxonomy"))
    assert page.select_one("tr#lawsuit")
    csrf = page_csrf(analyst, "/taxonomy")
    response = analyst.post(
        "/taxonomy/lawsuit",
        data={"weight_stability": "0.25", "half_life_days": "100", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    cat = session.exec(select(Category).where(Category.value == "lawsuit")).one()
    assert cat.weight_stability == 0.25 and cat.half_life_days == 100
    assert set(cat.edited_fields) == {"weight_stability", "half_life_days"}
    entry = session.exec(select(AuditLog).where(AuditLog.action == "category.update")).one()
    assert entry.after == {"weight_stability": 0.25, "half_life_days": 100.0}
    bad = analyst.post("/taxonomy/lawsuit", data={"default_severity": "9", "csrf_token": csrf})
    assert "between 1 and 5" in soup(bad).select_one(".flash-error").get_text()


def test_viewer_sees_taxonomy_without_forms(client_as, catalog: Session):
    viewer = client_as("viewer")
    page = soup(viewer.get("/taxonomy"))
    assert page.select_one("tr#lawsuit")
    assert not page.select('form[action^="/taxonomy/"]')


def test_login_page_is_reachable_when_signed_out(client, session: Session):
    from tests.web.factories import make_user

    make_user(session, username="adm", role="admin")
    assert login(client, "adm").status_code == 303
