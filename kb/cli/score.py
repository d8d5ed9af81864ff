"""``kb score``: score every vendor, store snapshots, flag alerts; explain one score."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import typer

from kb.cli import common
from kb.scoring import model
from kb.scoring import service as scoring
from kb.scoring.weights import ScoringWeights, WeightsError, load_weights
from kb.vendors import service as vendors

app = typer.Typer(
    help="Vendor risk scores (stability and lock-in, 0-100, with band and confidence).\n\n"
    "`kb score` alone scores every vendor, stores one snapshot per vendor and dimension, "
    "prints a table and the alerts, and POSTs the alerts to KB_SCORE_WEBHOOK_URL when set.",
    invoke_without_command=True,
)

AS_OF_HELP = (
    "Score as of this date (YYYY-MM-DD, or an ISO date-time; UTC). Events that occurred on or "
    "before that day count. Default: now."
)


def parse_as_of(value: str | None) -> dt.datetime | None:
    """A date or date-time from the command line, as tz-aware UTC; exits 2 when malformed."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        common.fail(f"--as-of: not a date (YYYY-MM-DD) or ISO date-time: {value!r}", 2)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _weights() -> ScoringWeights:
    """The weights file, validated; exits 2 with the place of the error when invalid."""
    try:
        return load_weights()
    except WeightsError as exc:
        common.fail(str(exc), 2)


def _dim_json(d: model.DimensionScore, *, with_contributions: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"value": d.value, "band": d.band, "confidence": d.confidence}
    if with_contributions:
        out["contributions"] = scoring.contributions_json(d)
    return out


def _score_json(s: model.VendorScore, *, with_contributions: bool = False) -> dict[str, Any]:
    return {
        "vendor_id": s.vendor_id,
        "slug": s.slug,
        "name": s.name,
        "as_of": s.as_of.isoformat(),
        "model_version": s.model_version,
        "stability": _dim_json(s.stability, with_contributions=with_contributions),
        "lock_in": _dim_json(s.lock_in, with_contributions=with_contributions),
    }


def _cell(d: model.DimensionScore) -> str:
    return f"{d.value:5.1f} {d.band:<8} c={d.confidence:.2f}"


def _vendor_ids(session: Any, slugs: list[str]) -> list[int] | None:
    if not slugs:
        return None
    ids = []
    for slug in slugs:
        vendor = vendors.get_vendor(session=session, slug=slug)
        if vendor is None or vendor.id is None:
            common.fail(f"no vendor with slug {slug!r} (see `kb vendors list`)", 2)
        ids.append(vendor.id)
    return ids


@app.callback()
def score(
    ctx: typer.Context,
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    include_suggested: bool = typer.Option(
        False, "--include-suggested", help="Count suggested (not yet confirmed) events too."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    vendor: list[str] = typer.Option(
        [], "--vendor", help="Only this vendor (slug); repeat for several."
    ),
    no_snapshot: bool = typer.Option(
        False, "--no-snapshot", help="Print only; store no snapshot, send no webhook."
    ),
) -> None:
    """Score vendors, store snapshots and flag alerts (band worsened, or a jump of at least
    alerts.jump_threshold points since the previous snapshot)."""
    if ctx.invoked_subcommand is not None:
        return
    when = parse_as_of(as_of)
    weights = _weights()
    with common.job_session() as session:
        ids = _vendor_ids(session, vendor)
        if no_snapshot:
            scores = scoring.compute_scores(
                session=session,
                as_of=when,
                include_suggested=include_suggested,
                vendor_ids=ids,
                weights=weights,
            )
            alerts: list[scoring.Alert] = []
            run_id = ""
        else:
            result = scoring.snapshot_scores(
                session=session,
                as_of=when,
                include_suggested=include_suggested,
                vendor_ids=ids,
                weights=weights,
            )
            scores, alerts, run_id = result.scores, result.alerts, result.run_id
    webhook_error = None
    url = common.settings().score_webhook_url
    if alerts and url and not no_snapshot:
        webhook_error = scoring.post_alerts(url=url, alerts=alerts, run_id=run_id)
    ordered = sorted(scores.values(), key=lambda s: s.slug)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "model_version": weights.model_version,
                    "run_id": run_id or None,
                    "snapshots_stored": 0 if no_snapshot else 2 * len(scores),
                    "scores": [_score_json(s) for s in ordered],
                    "alerts": [a.to_dict() for a in alerts],
                    "webhook_error": webhook_error,
                },
                indent=2,
            )
        )
    else:
        _print_table(ordered, alerts)
        if no_snapshot:
            typer.echo("no snapshot stored (--no-snapshot)")
        else:
            typer.echo(
                f"{2 * len(scores)} snapshots stored (run {run_id}, model {weights.model_version})"
            )
    if webhook_error:
        typer.secho(f"kb: warning: alerts not delivered: {webhook_error}", err=True)


def _print_table(ordered: list[model.VendorScore], alerts: list[scoring.Alert]) -> None:
    if not ordered:
        typer.echo("no vendors: run `kb vendors load`")
        return
    flagged: dict[int, list[str]] = {}
    for a in alerts:
        flagged.setdefault(a.vendor_id, []).append(f"{a.dimension}: {a.reason}")
    typer.echo(f"{'vendor':<20} {'stability':<22} {'lock-in':<22} alerts")
    for s in ordered:
        typer.echo(
            f"{s.slug:<20} {_cell(s.stability):<22} {_cell(s.lock_in):<22} "
            f"{'; '.join(flagged.get(s.vendor_id, [])) or '-'}"
        )
    as_of = ordered[0].as_of
    typer.echo(f"as of {as_of.isoformat()}; {len(alerts)} alert(s)")


@app.command("explain")
def explain(
    slug: str = typer.Argument(..., help="The vendor's slug."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    include_suggested: bool = typer.Option(
        False, "--include-suggested", help="Count suggested (not yet confirmed) events too."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Show one vendor's scores with every contribution (event or fact, and its points)."""
    when = parse_as_of(as_of)
    weights = _weights()
    with common.job_session() as session:
        ids = _vendor_ids(session, [slug])
        scores = scoring.compute_scores(
            session=session,
            as_of=when,
            include_suggested=include_suggested,
            vendor_ids=ids,
            weights=weights,
        )
    s = next(iter(scores.values()))
    if as_json:
        typer.echo(json.dumps(_score_json(s, with_contributions=True), indent=2))
        return
    typer.echo(f"{s.name} ({s.slug}) as of {s.as_of.isoformat()}, model {s.model_version}")
    for d in (s.stability, s.lock_in):
        typer.echo("")
        typer.echo(f"{d.dimension}: {d.value:.1f} ({d.band}), confidence {d.confidence:.2f}")
        for c in d.contributions:
            when_txt = c.date.isoformat() if c.date else "-"
            typer.echo(f"  {c.points:+8.2f}  {c.kind:<5} {when_txt:<10}  {c.label}")
        total = sum(c.points for c in d.contributions)
        typer.echo(f"  {total:+8.2f}  total")


@app.command("what-if")
def what_if(
    event_id: int = typer.Argument(..., help="The event's id."),
    status: str = typer.Option(
        ..., "--status", help="The status to preview: confirmed, dismissed or suggested."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    include_suggested: bool = typer.Option(
        False, "--include-suggested", help="Count suggested (not yet confirmed) events too."
    ),
) -> None:
    """Preview how setting an event's status would move its vendors' scores; saves nothing."""
    when = parse_as_of(as_of)
    weights = _weights()
    try:
        with common.job_session() as session:
            preview = scoring.what_if(
                session=session,
                event_id=event_id,
                status=status,
                as_of=when,
                include_suggested=include_suggested,
                weights=weights,
            )
            session.rollback()
    except scoring.ScoringError as exc:
        common.fail(str(exc), 2)
    if not preview:
        typer.echo(f"event {event_id} concerns no vendor: no score would move")
        return
    for now, changed in preview.values():
        for dim in model.DIMENSIONS:
            a, b = now.dimension(dim), changed.dimension(dim)
            typer.echo(
                f"{now.slug:<20} {dim:<10} {a.value:5.1f} {a.band:<8} -> {b.value:5.1f} "
                f"{b.band:<8} ({b.value - a.value:+.1f})"
            )
