"""JSON API ``/api/v1``: vendors, profile facts and scores. Authenticate with an API token
(``Authorization: Bearer kb_...``); any role may read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.security import HTTPBearer

from kb.models import Vendor
from kb.pagination import MAX_PER_PAGE, Page, clamp
from kb.scoring import model as scoring_model
from kb.scoring import service as scoring
from kb.vendors import service as vendors
from kb.vendors.api_schemas import (
    ContributionOut,
    DimensionOut,
    FactOut,
    HistoryPointOut,
    Paged,
    ScoreOut,
    VendorDetailOut,
    VendorOut,
    VendorScoresOut,
)
from kb.web.deps import DbSession, Viewer

# Declares the bearer scheme in OpenAPI; the check itself is in kb.web.deps.current_user.
bearer = HTTPBearer(auto_error=False, description="An API token from the API tokens page.")
router = APIRouter(prefix="/api/v1", tags=["vendors"], dependencies=[Depends(bearer)])

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
PageQ = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page")]
PerPageQ = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


def _vendor_or_404(session: DbSession, slug: str) -> Vendor:
    vendor = vendors.get_vendor(session=session, slug=slug)
    if vendor is None:
        raise HTTPException(status_code=404, detail=f"no vendor {slug!r}")
    return vendor


def _as_of(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    if not EARLIEST <= value <= LATEST:
        raise HTTPException(status_code=422, detail="as_of must be between 1970 and 2200")
    return value


def _dimension(score: scoring_model.DimensionScore, *, detail: bool) -> DimensionOut:
    contributions = None
    if detail:
        contributions = [
            ContributionOut(
                kind=c.kind,
                ref=c.ref,
                label=c.label,
                points=c.points,
                detail=dict(c.detail),
                source_url=c.source_url,
                date=c.date,
            )
            for c in score.contributions
        ]
    return DimensionOut(
        dimension=score.dimension,
        value=score.value,
        band=score.band,
        confidence=score.confidence,
        contributions=contributions,
    )


def _score(score: scoring_model.VendorScore, *, detail: bool = False) -> ScoreOut:
    return ScoreOut(
        slug=score.slug,
        name=score.name,
        as_of=score.as_of,
        model_version=score.model_version,
        stability=_dimension(score.stability, detail=detail),
        lock_in=_dimension(score.lock_in, detail=detail),
    )


def _paged(items: list[Any], page: int, per_page: int) -> dict[str, Any]:
    page, per_page = clamp(page, per_page)
    total = len(items)
    start = (page - 1) * per_page
    return Page(
        items=items[start : start + per_page], page=page, per_page=per_page, total=total
    ).as_json()


@router.get("/vendors", response_model=Paged[VendorOut])
def api_vendors(
    session: DbSession, user: Viewer, page: PageQ = 1, per_page: PerPageQ = 100
) -> dict[str, Any]:
    """Every vendor by name."""
    rows = [VendorOut.model_validate(v) for v in vendors.list_vendors(session=session)]
    return _paged(rows, page, per_page)


@router.get("/vendors/{slug}", response_model=VendorDetailOut)
def api_vendor(slug: str, session: DbSession, user: Viewer) -> VendorDetailOut:
    """One vendor with its aliases and profile facts (source and date for each)."""
    vendor = _vendor_or_404(session, slug)
    assert vendor.id is not None
    return VendorDetailOut(
        **VendorOut.model_validate(vendor).model_dump(),
        aliases=[a.text for a in vendors.aliases_of(session=session, vendor_id=vendor.id)],
        facts=[
            FactOut.model_validate(f)
            for f in vendors.facts_of(session=session, vendor_id=vendor.id)
        ],
    )


@router.get("/scores", response_model=Paged[ScoreOut])
def api_scores(
    session: DbSession,
    user: Viewer,
    as_of: Annotated[
        dt.datetime | None, Query(description="score as of this time (default: now), UTC")
    ] = None,
    page: PageQ = 1,
    per_page: PerPageQ = 100,
) -> dict[str, Any]:
    """Stability and lock-in scores of every vendor, computed from the data as of ``as_of``."""
    scores = scoring.compute_scores(session=session, as_of=_as_of(as_of))
    rows = sorted(scores.values(), key=lambda s: s.name.casefold())
    return _paged([_score(s) for s in rows], page, per_page)


@router.get("/vendors/{slug}/scores", response_model=VendorScoresOut)
def api_vendor_scores(
    slug: str,
    session: DbSession,
    user: Viewer,
    as_of: Annotated[dt.datetime | None, Query(description="default: now, UTC")] = None,
    since: Annotated[
        dt.datetime | None, Query(description="history from this time (default: all)")
    ] = None,
) -> VendorScoresOut:
    """One vendor's scores with every contribution, and its stored snapshot history."""
    vendor = _vendor_or_404(session, slug)
    assert vendor.id is not None
    scores = scoring.compute_scores(session=session, as_of=_as_of(as_of), vendor_ids=[vendor.id])
    history = scoring.score_history(session=session, vendor_id=vendor.id, since=_as_of(since))
    return VendorScoresOut(
        score=_score(scores[vendor.id], detail=True),
        history=[
            HistoryPointOut(
                as_of=h.as_of,
                dimension=h.dimension,
                value=h.value,
                band=h.band,
                confidence=h.confidence,
                model_version=h.model_version,
            )
            for h in history
        ],
    )
