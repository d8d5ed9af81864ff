"""``kb serve``: the web UI and JSON API under uvicorn."""

from __future__ import annotations

import typer

from kb.cli import common


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (default: this machine only)."
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free)."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Worker processes (each with its own database pool)."
    ),
    reload: bool = typer.Option(
        False, "--reload", help="Restart when code changes (development; one worker)."
    ),
) -> None:
    """Serve the UI and the API (uvicorn with the kb.web.app:create_app factory).

    Settings come from the environment (KB_DATABASE_URL, KB_DATA_DIR, KB_SECRET_KEY); the
    database must be migrated (`kb db upgrade`). Sign in with a user made by `kb users add`.
    """
    import uvicorn

    eng = common.engine()
    common.require_migrated(eng)
    eng.dispose()
    # Every worker must sign sessions with the same key: resolve it once, before forking.
    common.settings().effective_secret_key()
    if reload and workers > 1:
        common.fail("--reload works with one worker only", common.EXIT_USAGE)
    from kb.web.server import NoDelayH11Protocol

    uvicorn.run(
        "kb.web.app:create_app",
        factory=True,
        http=NoDelayH11Protocol,  # no 40 ms delayed-ACK stall in multi-worker mode
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
    )
