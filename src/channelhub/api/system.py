"""Readiness for load balancers and orchestrators: ``/api/v1/ready`` answers 200 when this
process can serve (the database answers and holds every migration this code needs), else 503
with the reason. ``/api/v1/health`` (liveness) stays in ``api.app``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from channelhub import __version__
from channelhub.api.problems import problem
from channelhub.core.database import Database
from channelhub.core.migrate import schema_state

router = APIRouter(tags=["system"])


@router.get("/api/v1/ready", response_model=None)
def ready(request: Request) -> dict[str, str] | JSONResponse:
    """Ready to take traffic: the database answers and its schema is at least as new as this
    code (a newer schema, mid rolling upgrade, is fine: migrations only add until every process
    runs the new code)."""
    db: Database = request.app.state.db
    try:
        state = schema_state(db)
    except Exception as error:  # any failure to reach the database means "not ready"
        detail = f"the database does not answer: {type(error).__name__}"
        return problem(503, "Not ready", detail, request.url.path)
    if state == "behind":
        detail = "the database schema is older than this code: run `channelhub db upgrade`"
        return problem(503, "Not ready", detail, request.url.path)
    return {"status": "ready", "schema": state, "version": __version__}
