"""``kb ingest``: one ingestion run (cron runs it weekly or hourly)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from kb.cli import common
from kb.feeds.service import FeedConfigError
from kb.ingest.fetch import CAFileError, check_ca_file
from kb.ingest.lock import LockBusy
from kb.ingest.run import FeedOutcome, RunReport, fetch_options, run_ingest
from kb.ingest.sources import SourcesError
from kb.ingest.tags import TagRulesError
from kb.scoring import service as scoring

OFFLINE_HINTS = ("cannot connect", "timed out", "ConnectError", "Name or service", "resolve")


def _line(o: FeedOutcome) -> str:
    if o.status in ("ok", "not-modified"):
        text = (
            f"{o.status}: {o.new} new, {o.updated} updated, {o.unchanged} unchanged"
            + (f", {o.filtered} filtered out" if o.filtered else "")
            + (f", {o.skipped} skipped" if o.skipped else "")
            + (" [ill-formed feed, entries kept]" if o.ill_formed else "")
            + (f" [moved permanently to {o.redirected_to}]" if o.redirected_to else "")
        )
    else:
        text = f"{o.status.upper()}: {o.error}"
        if o.next_check_at:
            text += f" (next try after {o.next_check_at[:16].replace('T', ' ')} UTC)"
    return f"{o.name}: {text}"


def _summary(report: RunReport) -> None:
    typer.echo("")
    typer.echo(f"{'feed':<40} {'status':<13} {'new':>5} {'upd':>5} {'same':>5}  error")
    for o in sorted(report.feeds, key=lambda f: (not f.failed, f.name)):
        err = (o.error or "")[:80]
        typer.echo(
            f"{o.name[:40]:<40} {o.status:<13} {o.new:>5} {o.updated:>5} {o.unchanged:>5}  {err}"
        )
    failed = report.failed
    typer.echo(
        f"\nrun {report.run_id}: {len(report.feeds)} feeds, {len(failed)} failed; "
        f"{report.total('new')} new, {report.total('updated')} updated, "
        f"{report.total('unchanged')} unchanged items"
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    if failed:
        fetched = [o for o in report.feeds if o.status != "deferred"]
        if fetched and all(
            o.failed and any(h in (o.error or "") for h in OFFLINE_HINTS) for o in fetched
        ):
            typer.echo(
                "no feed could be reached: this machine looks offline (or a proxy is needed: "
                "HTTPS_PROXY). Nothing was lost; the next run retries."
            )
        typer.echo("failed feeds: " + ", ".join(o.name for o in failed))


def ingest(
    feeds: Path | None = typer.Option(
        None,
        "--feeds",
        help="The feed list (default: KB_FEEDS_FILE, else feeds.yaml in the working directory).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the run report as JSON on stdout (no progress output)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Fetch every enabled feed now, ignoring back-off and 'gone'."
    ),
) -> None:
    """Fetch the feeds in feeds.yaml into the database: new items are stored once, matched to
    vendors and tagged. Exit 0 when every feed succeeded, 1 when some failed (each is named),
    2 on a usage or configuration error (nothing fetched)."""
    eng = common.engine()
    try:
        common.require_migrated(eng)
        settings = common.settings()
        options = fetch_options(settings)
        if options.ca_file:
            try:
                check_ca_file(options.ca_file)
            except CAFileError as exc:
                common.fail(f"KB_INGEST_CA_FILE: {exc} (nothing was fetched)", common.EXIT_USAGE)
        interactive = sys.stderr.isatty() and not as_json
        bar: Any = None
        state: dict[str, Any] = {}

        def on_start(total: int) -> None:
            if interactive:
                state["bar"] = typer.progressbar(
                    length=total, label="ingesting", file=sys.stderr, show_pos=True
                )
                state["bar"].__enter__()

        def progress(outcome: FeedOutcome, done: int, total: int) -> None:
            if as_json:
                return
            if interactive:
                state["bar"].update(1)
            else:
                typer.echo(f"[{done}/{total}] {_line(outcome)}")
                sys.stdout.flush()  # one line per feed as it happens, also into a cron log

        try:
            report = run_ingest(
                engine=eng,
                settings=settings,
                feeds_path=feeds,
                force=force,
                options=options,
                progress=progress,
                on_start=on_start,
            )
        except (SourcesError, TagRulesError, FeedConfigError) as exc:
            common.fail(f"{exc} (nothing was fetched)", common.EXIT_USAGE)
        except LockBusy as exc:
            common.fail(str(exc), common.EXIT_FAILED)
        finally:
            bar = state.get("bar")
            if bar is not None:
                bar.__exit__(None, None, None)
    finally:
        eng.dispose()
    scores = _snapshot_scores(report)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "scores": scores}, indent=2, default=str))
    else:
        if interactive:
            for o in report.feeds:
                if o.failed or o.ill_formed:
                    typer.echo(_line(o))
        _summary(report)
        _print_scores(scores)
    raise typer.Exit(report.exit_code)


def _snapshot_scores(report: RunReport) -> dict[str, Any]:
    """Store a score snapshot of every vendor after the run and deliver alerts.

    A scoring failure is reported but never undoes or fails the ingestion itself."""
    run_id = f"ingest-{report.run_id}"
    try:
        with common.job_session() as session:
            result = scoring.snapshot_scores(session=session, run_id=run_id)
    except Exception as exc:
        return {"run_id": run_id, "error": f"scores not updated: {exc}"}
    alerts = [a.to_dict() for a in result.alerts]
    out: dict[str, Any] = {"run_id": run_id, "vendors": len(result.scores), "alerts": alerts}
    url = common.settings().score_webhook_url
    if result.alerts and url:
        out["webhook_error"] = scoring.post_alerts(url=url, alerts=result.alerts, run_id=run_id)
    return out


def _print_scores(scores: dict[str, Any]) -> None:
    if "error" in scores:
        typer.secho(f"kb: warning: {scores['error']}", err=True)
        return
    typer.echo(f"scores: snapshot {scores['run_id']} of {scores['vendors']} vendors stored")
    for alert in scores["alerts"]:
        typer.echo(f"ALERT {alert['slug']} {alert['dimension']}: {alert['reason']}")
    if scores.get("webhook_error"):
        typer.secho(f"kb: warning: alerts not delivered: {scores['webhook_error']}", err=True)
