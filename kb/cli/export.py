"""``kb export``: items and risk reports in the formats other tools and risk teams use."""

from __future__ import annotations

import typer

app = typer.Typer(help="Export items and vendor risk reports.", no_args_is_help=True)
