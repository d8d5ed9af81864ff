"""The taxonomy page: categories with their weights; analysts tune them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from kb.taxonomy import service as taxonomy
from kb.web.deps import Analyst, DbSession, Viewer
from kb.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/taxonomy")
def taxonomy_list(request: Request, session: DbSession, user: Viewer) -> Response:
    """Every category with its description, defaults and weights."""
    return render(
        request,
        "taxonomy/list.html",
        {
            "categories": taxonomy.list_categories(session=session),
            "machine_tag": taxonomy.machine_tag,
        },
    )


Field = Annotated[str, Form(max_length=32)]


@router.post("/taxonomy/{value}")
def taxonomy_update(
    request: Request,
    value: str,
    session: DbSession,
    user: Analyst,
    default_severity: Field = "",
    weight_stability: Field = "",
    weight_lock_in: Field = "",
    direction_stability: Field = "",
    direction_lock_in: Field = "",
    half_life_days: Field = "",
) -> Response:
    """Save an analyst's weights, severity, directions and half-life for one category."""
    category = taxonomy.get_category(session=session, value=value)
    if category is None:
        raise HTTPException(status_code=404, detail=f"no category {value!r}")
    given = {
        "default_severity": default_severity,
        "weight_stability": weight_stability,
        "weight_lock_in": weight_lock_in,
        "direction_stability": direction_stability,
        "direction_lock_in": direction_lock_in,
        "half_life_days": half_life_days,
    }
    try:
        changes = taxonomy.parse_changes({k: v for k, v in given.items() if v.strip()})
        taxonomy.update_category(session=session, category=category, changes=changes, actor=user)
    except taxonomy.TaxonomyError as exc:
        return redirect(request, "/taxonomy", f"{value}: {exc}", "error")
    return redirect(request, "/taxonomy", f"Category {value} saved.")
