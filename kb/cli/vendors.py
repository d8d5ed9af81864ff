"""``kb vendors``: the vendor catalog."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kb.cli import common
from kb.vendors import catalog
from kb.vendors import service as vendors

app = typer.Typer(help="The vendor catalog and taxonomy.", no_args_is_help=True)


@app.command("load")
def load(
    vendors_file: Path | None = typer.Option(
        None, "--vendors-file", help="Vendor catalog YAML (default: the one shipped with kb)."
    ),
    taxonomy_file: Path | None = typer.Option(
        None, "--taxonomy-file", help="Taxonomy YAML (default: the one shipped with kb)."
    ),
) -> None:
    """Load the vendor catalog and taxonomy; re-running updates, never duplicates, and keeps
    analysts' edits."""
    try:
        with common.job_session() as session:
            tax = catalog.load_taxonomy(session=session, path=taxonomy_file)
            ven = catalog.load_vendors(session=session, path=vendors_file)
    except catalog.CatalogError as exc:
        common.fail(str(exc), common.EXIT_USAGE)
    for label, rep in (("taxonomy", tax), ("vendors", ven)):
        typer.echo(
            f"{label}: {len(rep.created)} created, {len(rep.updated)} updated, "
            f"{len(rep.unchanged)} unchanged"
        )
        for kept in rep.kept_analyst_edits:
            typer.echo(f"  kept analyst edits: {kept}")


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the vendors in the database."""
    with common.job_session() as session:
        rows = [
            {
                "slug": v.slug,
                "name": v.name,
                "jurisdiction": v.jurisdiction,
                "corporate_form": v.corporate_form,
            }
            for v in vendors.list_vendors(session=session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no vendors: run `kb vendors load`")
        return
    for r in rows:
        typer.echo(
            f"{r['slug']:<16} {r['name']:<28} {r['jurisdiction'] or '-':<6} "
            f"{r['corporate_form'] or '-'}"
        )
