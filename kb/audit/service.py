"""The append-only audit log: every change records who, when, what, before and after."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlmodel import Session, col, func, select

from kb.models import AuditLog, User
from kb.pagination import Page, clamp, offset


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def record(
    *,
    session: Session,
    actor: User | str,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit entry in the caller's transaction (so it commits with the change)."""
    entry = AuditLog(
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_name=actor.username if isinstance(actor, User) else actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def list_entries(
    *, session: Session, limit: int = 50, offset: int = 0, entity_type: str | None = None
) -> list[AuditLog]:
    """The newest audit entries first."""
    query = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(limit).offset(offset)
    if entity_type:
        query = query.where(AuditLog.entity_type == entity_type)
    return list(session.exec(query))


def entry_page(
    *, session: Session, page: int = 1, per_page: int = 50, entity_type: str | None = None
) -> Page[AuditLog]:
    """One page of audit entries, newest first, optionally of one entity type."""
    page, per_page = clamp(page, per_page)
    count = select(func.count()).select_from(AuditLog)
    if entity_type:
        count = count.where(AuditLog.entity_type == entity_type)
    total = int(session.exec(count).one())
    rows = list_entries(
        session=session, limit=per_page, offset=offset(page, per_page), entity_type=entity_type
    )
    return Page(items=rows, page=page, per_page=per_page, total=total)


def entity_types(*, session: Session) -> list[str]:
    """The entity types that have audit entries, for the filter."""
    query = select(AuditLog.entity_type).distinct().order_by(AuditLog.entity_type)
    return list(session.exec(query))
