"""``channelhub``: serve the hub, migrate its database, manage keys, import and export."""

from __future__ import annotations

import os

import typer

from channelhub.apikeys import service as apikeys
from channelhub.cli import admin as admin_cli
from channelhub.cli import automation as automation_cli
from channelhub.cli import catalog, pricing
from channelhub.cli import customer_journeys as journeys_cli
from channelhub.cli import customers as customers_cli
from channelhub.cli import feeds as feeds_cli
from channelhub.cli import insight as insight_cli
from channelhub.cli import inventory as inventory_cli
from channelhub.cli import pos as pos_cli
from channelhub.cli import simulate as simulate_cli
from channelhub.cli import sync as sync_cli
from channelhub.cli.common import console, database, handle_errors
from channelhub.core.migrate import upgrade

app = typer.Typer(
    name="channelhub",
    help="Omnichannel commerce hub: one catalog, stock, price and order flow for every channel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="CHANNELHUB_DATABASE_URL",
        help="SQLite or PostgreSQL URL (default sqlite:///channelhub.db)",
    ),
) -> None:
    if database_url:
        os.environ["CHANNELHUB_DATABASE_URL"] = database_url
        from channelhub.core.settings import get_settings

        get_settings.cache_clear()


db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(customers_cli.app, name="customers")
app.add_typer(pos_cli.app, name="pos")
app.add_typer(insight_cli.analytics_app, name="analytics")
app.command("audit")(insight_cli.audit)
app.command("simulate")(simulate_cli.simulate)
app.add_typer(admin_cli.user_app, name="user")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply the schema migrations (to the newest by default)."""
    db = database()
    upgrade(db, revision)
    console.print(f"database at {db.engine.url.render_as_string(hide_password=True)} is up to date")


@app.command()
def serve(
    host: str = typer.Option(None, help="default CHANNELHUB_HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="default CHANNELHUB_PORT or 8000"),
    workers: int = typer.Option(
        1, "--workers", min=1, help="API processes sharing the port (uvicorn's supervisor)"
    ),
) -> None:
    """Serve the API (OpenAPI docs at /api/v1/docs). With ``--workers N`` uvicorn runs N API
    processes on one port and restarts any that dies; SIGTERM lets requests in flight finish.
    The sync and background work runs apart, in ``channelhub worker``."""
    import uvicorn

    from channelhub.api.app import create_app
    from channelhub.core.settings import get_settings

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if workers > 1:  # each process builds its app (and its pool) from the environment
        uvicorn.run(
            "channelhub.api.app:create_app",
            factory=True,
            workers=workers,
            # a process importing the whole app on a busy host answers the supervisor's
            # first ping late; uvicorn's 5 s would kill and restart it again and again
            timeout_worker_healthcheck=60,
            host=host,
            port=port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=30,
        )
    else:
        uvicorn.run(
            create_app(database()),
            host=host,
            port=port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=30,
        )


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000, help="the hub's port; 0 for any free one"),
    serve_api: bool = typer.Option(
        True, "--serve/--no-serve", help="run the live demo after loading (else only load)"
    ),
    duration: float = typer.Option(
        0.0,
        "--for",
        "--duration",
        min=0,
        help="run this many seconds, then stop and print a JSON summary as the last line "
        "(exit status 1 when anything unplanned went wrong); 0 runs until Ctrl-C",
    ),
    pace: float = typer.Option(3.0, "--pace", min=0, help="random orders per second"),
    seed: int = typer.Option(7, "--seed", help="seed of the shoppers' random choices"),
) -> None:
    """Migrate, load the sample retailer, then run the live demo: the hub and its admin, the
    sync worker, sandbox channels and live traffic. Ctrl-C stops everything."""
    import secrets

    from channelhub.admin.users import Role, create_user, get_user, update_user
    from channelhub.core.errors import NotFound
    from channelhub.core.settings import get_settings
    from channelhub.demo.history import seed_history
    from channelhub.demo.load import load_live_retailer

    if port == 0:  # any free port (CI, and several demos on one machine)
        from channelhub.sandbox.server import free_port

        port = free_port()
    if not os.environ.get("CHANNELHUB_SECRET_KEY"):
        # Connections store credentials encrypted; the demo's sandboxes need no real secret.
        os.environ["CHANNELHUB_SECRET_KEY"] = "channelhub-demo-secret-key-not-for-production"
        get_settings.cache_clear()
    warm = None
    if serve_api:  # the Shopify sandbox's schema takes seconds to build: meanwhile, load
        import threading

        from channelhub.sandbox.shopify.schema import load_schema

        warm = threading.Thread(target=load_schema, name="demo:schema", daemon=True)
        warm.start()
    db = database()
    upgrade(db)
    console.print(load_live_retailer(db))
    console.print(seed_history(db))
    # A fresh key each start (its token is shown once); the previous runs' keys stop working.
    for old in apikeys.list_keys(db):
        if old.name == "demo" and old.revoked_at is None:
            apikeys.revoke_key(db, old.prefix)
    _key, token = apikeys.create_key(db, "demo", ["admin"])
    password = secrets.token_urlsafe(9)
    try:
        get_user(db, "admin")
        update_user(db, "admin", password=password)
    except NotFound:
        create_user(db, "admin", password, Role.ADMIN)
    # Plain print: a terminal-wide wrap would break the key when copied.
    print(f"demo API key (admin): {token}")
    print(f"web admin: http://{host}:{port}/admin  user: admin  password: {password}")
    print(f"API docs: http://{host}:{port}/api/v1/docs")
    if not serve_api:
        return
    import time

    import orjson

    from channelhub.core.database import utcnow
    from channelhub.demo.runner import DemoOptions, run_demo
    from channelhub.demo.summary import errors_logged, summarize

    timed = duration > 0
    options = DemoOptions(
        host=host, port=port, duration=duration, pace=pace, seed=seed, settle=90.0 if timed else 0
    )
    if warm is not None:
        warm.join()
    print("starting the sandboxes, the worker and the traffic; Ctrl-C stops everything")
    started_at, started = utcnow(), time.monotonic()
    with errors_logged() as errors:
        report = run_demo(db, options, on_ready=lambda url: print(f"the hub is live at {url}"))
    sent = ", ".join(f"{channel} {n}" for channel, n in sorted(report.orders_sent.items()))
    if report.worker_error is not None:
        print(f"the sync worker stopped with an error: {report.worker_error!r}")
    else:
        print(f"demo stopped cleanly; orders placed: {sent or 'none'}")
    if report.problems:
        print(f"{len(report.problems)} problem(s) on the way, said above as they happened")
    if timed:
        summary = summarize(db, report, started_at, time.monotonic() - started, errors)
        for problem in summary["unplanned"]:
            print(f"unplanned: {problem}")
        print(orjson.dumps(summary).decode())
        if summary["unplanned_count"]:
            raise typer.Exit(1)
    elif report.worker_error is not None:
        raise typer.Exit(1)


apikey_app = typer.Typer(
    help="API keys (stored hashed; the key is shown once).", no_args_is_help=True
)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
@handle_errors
def apikey_create(
    name: str,
    scope: list[str] = typer.Option(["read"], "--scope", help="read, write or admin; repeatable"),
) -> None:
    """Create a key and print it once."""
    key, token = apikeys.create_key(database(), name, scope)
    console.print(f"created key {key.prefix} ({', '.join(key.scopes)}) for {key.name}")
    print(token)


@apikey_app.command("list")
def apikey_list() -> None:
    for key in apikeys.list_keys(database()):
        state = "revoked" if key.revoked_at else "live"
        console.print(f"{key.prefix}  {key.name}  {','.join(key.scopes)}  {state}")


@apikey_app.command("revoke")
@handle_errors
def apikey_revoke(prefix: str) -> None:
    apikeys.revoke_key(database(), prefix)
    console.print(f"revoked {prefix}")


catalog.register(app)
pricing.register(app)
inventory_cli.register(app)
sync_cli.register(app)
automation_cli.register(app)
feeds_cli.register(app)
journeys_cli.register(app)


def run() -> None:
    """The ``channelhub`` entry point: the app, with a clear word when the schema is missing."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        app()
    except (OperationalError, ProgrammingError) as error:
        text = str(error.orig or error)
        if "no such table" in text or "does not exist" in text:
            from channelhub.cli.common import errors

            errors.print(
                "[red]error:[/red] this database has no channelhub schema yet: "
                "run `channelhub db upgrade` first"
            )
            raise SystemExit(2) from None
        raise
