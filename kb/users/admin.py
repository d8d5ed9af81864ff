"""What an administrator changes about accounts: role and whether the account may sign in."""

from __future__ import annotations

from sqlmodel import Session, func, select

from kb.audit import service as audit
from kb.models import Role, User
from kb.users.service import UserError


def _active_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.admin, User.active)
    return int(session.exec(query).one())


def set_role(*, session: Session, user: User, role: str, actor: User | str) -> User:
    """Change a user's role; the last active admin cannot be demoted."""
    if role not in {r.value for r in Role}:
        raise UserError(f"role must be one of: {', '.join(r.value for r in Role)}")
    if role == user.role:
        return user
    if user.role == Role.admin and user.active and _active_admins(session) <= 1:
        raise UserError("the last active admin cannot be demoted")
    before = {"role": user.role}
    user.role = role
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.role",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after={"role": role},
    )
    return user


def set_active(*, session: Session, user: User, active: bool, actor: User | str) -> User:
    """Enable or disable an account; a disabled user's sessions and tokens stop working."""
    if active == user.active:
        return user
    if not active and user.role == Role.admin and _active_admins(session) <= 1:
        raise UserError("the last active admin cannot be disabled")
    if not active and isinstance(actor, User) and actor.id == user.id:
        raise UserError("you cannot disable your own account")
    user.active = active
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        entity_type="user",
        entity_id=user.id,
        before={"active": not active},
        after={"active": active},
    )
    return user
