"""The FastAPI application: problem+json errors (RFC 9457), API-key auth, the routers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from channelhub import __version__
from channelhub.admin import web as admin_web
from channelhub.api import apikeys as apikeys_routes
from channelhub.api import automation as automation_routes
from channelhub.api import catalog as catalog_routes
from channelhub.api import customer_journeys as customer_journeys_routes
from channelhub.api import customers as customers_routes
from channelhub.api import feeds as feeds_routes
from channelhub.api import insight as insight_routes
from channelhub.api import inventory as inventory_routes
from channelhub.api import orders as orders_routes
from channelhub.api import pos as pos_routes
from channelhub.api import pricing as pricing_routes
from channelhub.api import simulate as simulate_routes
from channelhub.api import sync as sync_routes
from channelhub.api import system as system_routes
from channelhub.api.boundary import RequestBoundary
from channelhub.api.problems import install_openapi, problem
from channelhub.core.database import Database
from channelhub.core.errors import ChannelhubError

log = logging.getLogger("channelhub.api")


def create_app(db: Database | None = None) -> FastAPI:
    """Build the API over ``db`` (by default the database of ``CHANNELHUB_DATABASE_URL``)."""
    app = FastAPI(
        title="channelhub",
        version=__version__,
        description="Omnichannel commerce hub: catalog, stock, prices, orders and customers "
        "for every sales channel. Errors are RFC 9457 problem+json documents.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.db = db or Database()
    app.add_middleware(RequestBoundary)

    @app.exception_handler(ChannelhubError)
    async def _domain_error(request: Request, exc: ChannelhubError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if exc.problems:
            extra["errors"] = [p.as_dict() for p in exc.problems]
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = problem(exc.status, exc.title, exc.detail, request.url.path, **extra)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": ".".join(str(part) for part in err.get("loc", ())),
                "message": str(err.get("msg", "invalid")),
            }
            for err in exc.errors()
        ]
        return problem(
            422,
            "Invalid input",
            "the request does not match the API's schema",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            413: "Content too large",
        }.get(exc.status_code, "Error")
        return problem(exc.status_code, title, str(exc.detail), request.url.path)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client gave up (a platform's webhook timeout, say) while its body was being read:
        # nothing was stored, it sends again, and nobody is left to answer. Not an error of
        # the hub's, so not logged as one (a handler of its own class is not re-raised to the
        # server, as the catch-all's is).
        log.info("client went away during %s %s", request.method, request.url.path)
        return problem(499, "Client closed request", "the client went away", request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(
            500, "Internal error", "an unexpected error occurred; it was logged", request.url.path
        )

    @app.get("/api/v1/health", tags=["system"])
    def health() -> dict[str, str]:
        """Liveness: answers when the process and its database are reachable."""
        with app.state.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__}

    app.include_router(catalog_routes.router, prefix="/api/v1")
    app.include_router(apikeys_routes.router, prefix="/api/v1")
    app.include_router(inventory_routes.router, prefix="/api/v1")
    app.include_router(orders_routes.router, prefix="/api/v1")
    app.include_router(customers_routes.router, prefix="/api/v1")
    app.include_router(customer_journeys_routes.router, prefix="/api/v1")
    app.include_router(pos_routes.router, prefix="/api/v1")
    app.include_router(pricing_routes.router, prefix="/api/v1")
    app.include_router(insight_routes.router, prefix="/api/v1")
    app.include_router(insight_routes.audit_router, prefix="/api/v1")
    app.include_router(simulate_routes.router, prefix="/api/v1")
    app.include_router(sync_routes.router)
    app.include_router(system_routes.router)
    app.include_router(automation_routes.router)
    app.include_router(feeds_routes.router)
    admin_web.install(app)
    install_openapi(app)
    return app
