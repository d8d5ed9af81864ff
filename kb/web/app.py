"""The application factory: ``create_app(settings)`` builds the app, its engine and routes.

Nothing happens at import time; ``kb serve`` runs ``uvicorn kb.web.app:create_app --factory``.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kb import __version__
from kb.config import Settings, get_settings
from kb.db import make_engine
from kb.web import errors, security
from kb.web.routers import ROUTER_MODULES

STATIC_DIR = Path(__file__).resolve().parent / "static"

API_DESCRIPTION = """\
The kb JSON API: vendors, profile facts, risk scores, events and items.

Authenticate with an API token (create one on the **API tokens** page of the web UI):
`Authorization: Bearer kb_...`. A token has its user's role.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (modules, the app, its routes) lives as long as the worker:
        # keep it out of the garbage collector's full passes, which would otherwise walk
        # ~200k objects and stall every request in flight (collect first: freeze no garbage).
        gc.collect()
        gc.freeze()
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="kb",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    security.install(app, settings)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app
