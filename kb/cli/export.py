"""``kb export``: items and risk reports in the formats other tools and risk teams use."""

from __future__ import annotations

import typer

app = typer.Typer(help="Export items and vendor risk reports.", no_args_is_help=True)


# --------------------------------------------------------------------------- risk reports
# (imports are local so `kb export items` does not load the PDF and XLSX libraries)

_FORMAT_HELP = "html, pdf, xlsx, csv, json or md."
_OUTPUT_HELP = (
    "File to write; '-' for standard output. Default: standard output for html, csv, json "
    "and md; for pdf and xlsx a file named like report-SLUG-DATE.pdf / portfolio-DATE.xlsx "
    "in the current directory (binary output never goes to a terminal)."
)
_AS_OF_HELP = (
    "Report date YYYY-MM-DD (default: today, UTC). The scores are the snapshots stored on "
    "that day; when there is none, they are computed for that day and stored first."
)
_SINCE_HELP = (
    "Measure changes from the scores of this date YYYY-MM-DD (stored that day, else computed "
    "and stored; default: the previous stored score)."
)


def _export_report(
    *, vendor: str | None, fmt: str, as_of: str | None, since: str | None, output: str | None
) -> None:
    import os
    import sys
    import tempfile
    from pathlib import Path

    from kb.cli import common
    from kb.reports import render, service

    fmt = fmt.lower()
    if fmt not in service.FORMATS:
        common.fail(f"unknown format {fmt!r}; choose one of {_FORMAT_HELP}", common.EXIT_USAGE)
    binary = fmt in service.BINARY_FORMATS
    to_stdout = output == "-" or (output is None and not binary)
    if to_stdout and binary and sys.stdout.isatty():
        common.fail(f"{fmt} is binary: give --output FILE (or pipe it)", common.EXIT_USAGE)
    try:
        as_of_date = service.parse_date(as_of, name="--as-of")
        since_date = service.parse_date(since, name="--since")
        with common.job_session() as session:
            report = service.build_report(
                session=session, vendor_slug=vendor, as_of=as_of_date, since=since_date
            )
    except service.ReportError as exc:
        common.fail(str(exc), common.EXIT_USAGE)
    data = render.render(report, fmt)
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(output or report.file_name(fmt))
    try:
        # Write next to the target and rename, so a failure never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        common.fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"wrote {path} ({len(data)} bytes)", err=True)


@app.command("report")
def report(
    vendor: str = typer.Option(..., "--vendor", help="The vendor's slug (see `kb vendors list`)."),
    fmt: str = typer.Option("html", "--format", "-f", help=_FORMAT_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
    since: str | None = typer.Option(None, "--since", help=_SINCE_HELP),
    output: str | None = typer.Option(None, "--output", "-o", help=_OUTPUT_HELP),
) -> None:
    """Export one vendor's risk report: scores, drivers with sources, events timeline, profile
    and lock-in checklist, data sovereignty and method. Exit 2 for an unknown vendor or a bad
    option."""
    _export_report(vendor=vendor, fmt=fmt, as_of=as_of, since=since, output=output)


@app.command("portfolio")
def portfolio(
    fmt: str = typer.Option("html", "--format", "-f", help=_FORMAT_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=_AS_OF_HELP),
    since: str | None = typer.Option(None, "--since", help=_SINCE_HELP),
    output: str | None = typer.Option(None, "--output", "-o", help=_OUTPUT_HELP),
) -> None:
    """Export the portfolio risk report: every vendor's scores and report sections. Exit 2 for
    a bad option."""
    _export_report(vendor=None, fmt=fmt, as_of=as_of, since=since, output=output)


# --------------------------------------------------------------------------- items


@app.command("items")
def items(
    fmt: str = typer.Option("jsonl", "--format", "-f", help="Output format: jsonl."),
    output: str = typer.Option(
        "-", "--output", "-o", help="File to write; '-' (the default) for standard output."
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only items first seen on or after this date (YYYY-MM-DD, UTC)."
    ),
) -> None:
    """Export items as JSON lines: guid, url, title, published_at, feeds, vendors (slugs) with
    the matched text as evidence, and suggested_categories with confidence and triggers."""
    import datetime as dt
    import os
    import sys
    import tempfile
    from pathlib import Path

    from kb.cli import common
    from kb.ingest import export

    if fmt.lower() not in export.FORMATS:
        common.fail(
            f"unknown format {fmt!r}; choose one of {', '.join(export.FORMATS)}", common.EXIT_USAGE
        )
    since_at = None
    if since:
        try:
            since_at = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), dt.UTC)
        except ValueError:
            common.fail(f"--since: {since!r} is not a date YYYY-MM-DD", common.EXIT_USAGE)
    with common.job_session() as session:
        if output == "-":
            count = export.write_jsonl(session=session, out=sys.stdout, since=since_at)
            sys.stdout.flush()
        else:
            path = Path(output)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    count = export.write_jsonl(session=session, out=fh, since=since_at)
                os.replace(tmp, path)
            except OSError as exc:
                common.fail(f"cannot write {path}: {exc.strerror or exc}")
            typer.echo(f"wrote {count} items to {path}", err=True)
