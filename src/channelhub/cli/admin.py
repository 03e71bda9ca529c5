"""Web admin users: add, list, change role, disable, reset a password."""

from __future__ import annotations

import typer
from rich.table import Table

from channelhub.admin.users import Role, create_user, list_users, update_user
from channelhub.cli.common import console, database, handle_errors

user_app = typer.Typer(help="Web admin users and their roles.", no_args_is_help=True)

PASSWORD = typer.Option(
    ...,
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="CHANNELHUB_ADMIN_PASSWORD",
    help="at least 10 characters (prompted when not given)",
)


@user_app.command("add")
@handle_errors
def user_add(username: str, role: Role = typer.Option(...), password: str = PASSWORD) -> None:
    """Create a user who can sign in to the web admin at /admin."""
    user = create_user(database(), username, password, role)
    console.print(f"user {user.username} ({user.role.value}) created")


@user_app.command("list")
@handle_errors
def user_list() -> None:
    table = Table("user", "role", "active", "last sign-in")
    for user in list_users(database()):
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else ""
        table.add_row(user.username, user.role.value, "yes" if user.active else "no", last)
    console.print(table)


@user_app.command("set")
@handle_errors
def user_set(
    username: str,
    role: Role | None = typer.Option(None),
    active: bool | None = typer.Option(None, "--active/--disabled"),
    password: str | None = typer.Option(None, help="a new password"),
) -> None:
    """Change a user's role, enable or disable them, or set a new password."""
    user = update_user(database(), username, role=role, active=active, password=password)
    state = "active" if user.active else "disabled"
    console.print(f"user {user.username}: {user.role.value}, {state}")
