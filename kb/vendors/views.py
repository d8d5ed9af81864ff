"""Vendor pages: the dashboard, the vendor list, the vendor page and its fact edits."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from kb.feeds import service as feeds_service
from kb.items import service as items
from kb.models import Vendor, utcnow
from kb.scoring import service as scoring
from kb.scoring import weights as scoring_weights
from kb.scoring.model import DimensionScore, VendorScore
from kb.vendors import service as vendors
from kb.vendors.schemas import FACT_KEYS
from kb.web import svg
from kb.web.deps import Analyst, DbSession, Viewer
from kb.web.pagecache import cached_page
from kb.web.templating import redirect, render

router = APIRouter(tags=["vendors"], include_in_schema=False)

DIMENSIONS = ("stability", "lock_in")
FACT_LABELS = {
    "open_weights": "Open weights available",
    "self_hosting": "Self-hostable / on-prem",
    "openai_compatible_api": "OpenAI-compatible API",
    "data_export": "Data export",
    "finetune_portability": "Fine-tune portability",
    "data_residency": "Data residency options",
    "exclusive_cloud_ties": "Exclusive cloud ties",
    "certifications": "Certifications (SOC 2, ISO 27001, HIPAA)",
    "government_ties": "Government ties",
}
TREND_DAYS = 90
CHART_DAYS = 365
SCOREBOARD_SECONDS = 60.0
LIVE_SCORE_SECONDS = 60.0
FEED_WARNING_STATES = ("error", "gone", "warning")
BREAKDOWN_ROWS = 12
_SCOREBOARD_LOCK = threading.Lock()


def _vendor_or_404(session: DbSession, slug: str) -> Vendor:
    vendor = vendors.get_vendor(session=session, slug=slug)
    if vendor is None:
        raise HTTPException(status_code=404, detail=f"no vendor {slug!r}")
    return vendor


def _scoreboard(request: Request, session: DbSession) -> dict[str, Any]:
    """What the dashboard derives from stored snapshots, cached per process until snapshots
    change (or for a minute, as "since last week" moves with the clock)."""
    version = vendors.snapshot_version(session=session)
    cached = getattr(request.app.state, "scoreboard", None)
    now = time.monotonic()
    if cached and cached[0] == version and now - cached[1] < SCOREBOARD_SECONDS:
        return cached[2]
    # One rebuild at a time per process; meanwhile other requests keep the previous board.
    if cached is not None:
        if not _SCOREBOARD_LOCK.acquire(blocking=False):
            return dict(cached[2])
    else:
        _SCOREBOARD_LOCK.acquire()
    try:
        return _build_scoreboard(request, session, version, now)
    finally:
        _SCOREBOARD_LOCK.release()


def _build_scoreboard(
    request: Request, session: DbSession, version: tuple[int, int], now: float
) -> dict[str, Any]:
    latest = scoring.latest_snapshots(session=session)
    board = {
        "latest": {
            vid: {
                dim: vendors.ScorePoint(
                    as_of=s.as_of, value=s.value, band=s.band, confidence=s.confidence
                )
                for dim, s in dims.items()
            }
            for vid, dims in latest.items()
        },
        "change": scoring.change_since(session=session, days=7),
        "series": vendors.score_series(
            session=session, since=utcnow() - dt.timedelta(days=TREND_DAYS)
        ),
        "alerts": scoring.recent_alerts(session=session, limit=10),
    }
    request.app.state.scoreboard = (version, now, board)
    return board


@router.get("/")
def dashboard(request: Request, session: DbSession, user: Viewer) -> Response:
    """All vendors with their latest stored scores, trend, weekly change, alerts, feed warnings."""

    def build() -> dict[str, Any]:
        board = _scoreboard(request, session)
        rows: list[dict[str, Any]] = []
        for vendor in vendors.list_vendors(session=session):
            assert vendor.id is not None
            dims = {}
            for dim in DIMENSIONS:
                snap = board["latest"].get(vendor.id, {}).get(dim)
                points = board["series"].get(vendor.id, {}).get(dim, [])
                dims[dim] = {
                    "value": snap.value if snap else None,
                    "band": snap.band if snap else None,
                    "confidence": snap.confidence if snap else None,
                    "change": board["change"].get(vendor.id, {}).get(dim),
                    "spark": svg.sparkline(
                        [p.value for p in points],
                        color=svg.COLORS[dim],
                        label=f"{vendor.name} {svg.LABELS[dim]}, last {TREND_DAYS} days",
                    ),
                }
            rows.append({"vendor": vendor, **dims})
        # Riskiest first: by the higher of the two scores; vendors without scores last.
        rows.sort(
            key=lambda r: (
                -max(r["stability"]["value"] or -1, r["lock_in"]["value"] or -1),
                r["vendor"].name.casefold(),
            )
        )
        as_of = max((p.as_of for d in board["latest"].values() for p in d.values()), default=None)
        states = (
            (f, feeds_service.feed_state(f)) for f in feeds_service.list_feeds(session=session)
        )
        feeds = [{"feed": f, "state": state} for f, state in states if feed_warning(state)]
        return {
            "rows": rows,
            "as_of": as_of,
            "alerts": board["alerts"],
            "feed_warnings": feeds,
            "trend_days": TREND_DAYS,
        }

    return cached_page(request, session, "dashboard.html", build)


@router.get("/vendors")
def vendor_list(request: Request, session: DbSession, user: Viewer) -> Response:
    """Every vendor with its profile summary and latest stored scores."""
    latest = scoring.latest_snapshots(session=session)
    rows = [
        {"vendor": v, "scores": latest.get(v.id or 0, {})}
        for v in vendors.list_vendors(session=session)
    ]
    return render(request, "vendors/list.html", {"rows": rows})


def _live_score(request: Request, session: DbSession, vendor_id: int) -> VendorScore:
    """The vendor's score computed live, so a confirmed event shows at once; reused (per
    worker, for up to a minute) while the fingerprint of its inputs is unchanged."""
    key = (
        vendors.score_inputs_fingerprint(session=session, vendor_id=vendor_id),
        scoring_weights.default_path().stat().st_mtime_ns,
    )
    cache: dict[int, tuple[Any, float, VendorScore]] | None = getattr(
        request.app.state, "live_scores", None
    )
    if cache is None:
        cache = request.app.state.live_scores = {}
    now = time.monotonic()
    hit = cache.get(vendor_id)
    if hit and hit[0] == key and now - hit[1] < LIVE_SCORE_SECONDS:
        return hit[2]
    score = scoring.compute_scores(session=session, vendor_ids=[vendor_id])[vendor_id]
    cache[vendor_id] = (key, now, score)
    return score


def _breakdown(score: DimensionScore) -> dict[str, Any]:
    shown = score.contributions[:BREAKDOWN_ROWS]
    rest = score.contributions[BREAKDOWN_ROWS:]
    return {
        "score": score,
        "shown": shown,
        "rest_count": len(rest),
        "rest_points": sum(c.points for c in rest),
    }


@router.get("/vendors/{slug}")
def vendor_page(
    request: Request, slug: str, session: DbSession, user: Viewer, page: int = 1
) -> Response:
    """One vendor: profile facts, live score breakdown, trend chart, events and reports."""
    vendor = _vendor_or_404(session, slug)
    assert vendor.id is not None

    def build() -> dict[str, Any]:
        assert vendor.id is not None
        score = _live_score(request, session, vendor.id)
        series = vendors.score_series(
            session=session, since=utcnow() - dt.timedelta(days=CHART_DAYS), vendor_ids=[vendor.id]
        ).get(vendor.id, {})
        lines = {}
        for dim in DIMENSIONS:
            points = [(p.as_of, p.value) for p in series.get(dim, [])]
            points.append((score.as_of, score.dimension(dim).value))  # the live value ends the line
            lines[dim] = points
        facts = vendors.facts_of(session=session, vendor_id=vendor.id)
        return {
            "vendor": vendor,
            "score": score,
            "dimensions": [_breakdown(score.stability), _breakdown(score.lock_in)],
            "chart": svg.trend_chart(lines, title=f"{vendor.name}: scores, last year"),
            "facts": facts,
            "missing_facts": [k for k in FACT_KEYS if k not in {f.key for f in facts}],
            "fact_keys": FACT_KEYS,
            "fact_labels": FACT_LABELS,
            "aliases": vendors.aliases_of(session=session, vendor_id=vendor.id),
            "events": vendors.events_of(session=session, vendor_id=vendor.id, page=page),
            "items": items.newest_of_vendor(session=session, vendor_id=vendor.id, limit=10),
            "today": utcnow().date().isoformat(),
        }

    return cached_page(request, session, "vendors/detail.html", build)


@router.post("/vendors/{slug}/facts")
def vendor_fact(
    request: Request,
    slug: str,
    session: DbSession,
    user: Analyst,
    key: Annotated[str, Form(max_length=64)] = "",
    value: Annotated[str, Form(max_length=32)] = "",
    source_url: Annotated[str, Form(max_length=1000)] = "",
    checked_at: Annotated[str, Form(max_length=32)] = "",
    detail: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a profile fact with its source and date (audited; outranks the catalog)."""
    vendor = _vendor_or_404(session, slug)
    back = f"/vendors/{vendor.slug}#facts"
    try:
        checked = dt.date.fromisoformat(checked_at.strip())
    except ValueError:
        return redirect(request, back, "The date checked must be YYYY-MM-DD.", "error")
    try:
        vendors.set_fact(
            session=session,
            vendor=vendor,
            key=key,
            value=value,
            source_url=source_url.strip(),
            checked_at=checked,
            detail=detail.strip() or None,
            actor=user,
        )
    except vendors.VendorError as exc:
        return redirect(request, back, f"Fact not saved: {exc}.", "error")
    label = FACT_LABELS.get(key, key)
    return redirect(request, back, f"{label} set to {value}.")


def feed_warning(state: str) -> bool:
    """True for feed states an analyst should look at."""
    return state in FEED_WARNING_STATES


@router.get("/feeds")
def feeds_page(request: Request, session: DbSession, user: Viewer) -> Response:
    """Feed health: last check, status, error and item counts; problems first."""
    feeds = feeds_service.feed_health(session=session)
    feeds.sort(key=lambda f: (not feed_warning(f["state"]), str(f["name"]).casefold()))
    return render(request, "feeds/list.html", {"feeds": feeds, "warning": feed_warning})
