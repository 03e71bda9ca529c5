"""``channelhub pos``: what a till asks, from a shell: a product and its stock everywhere."""

from __future__ import annotations

import typer
from rich.table import Table

from channelhub.cli.common import console, database, handle_errors
from channelhub.pos.lookup import lookup_product

app = typer.Typer(help="Stores' POS: look products up as a till does.", no_args_is_help=True)


@app.command("lookup")
@handle_errors
def lookup(
    store: str = typer.Argument(..., help="the store's channel code"),
    code: str = typer.Argument(..., help="a SKU or a GTIN"),
) -> None:
    """A product by SKU or GTIN with its price on the store's channel and its stock at every
    location, this store first."""
    found = lookup_product(database(), store, code)
    price = f"{found.price} {found.currency}" if found.price is not None else "no price"
    console.print(f"[bold]{found.sku}[/bold] {found.title} ({found.gtin or 'no GTIN'}): {price}")
    table = Table("location", "name", "on hand", "reserved", "available")
    for level in found.stock:
        marker = " (this store)" if level.is_this_store else ""
        table.add_row(
            level.location + marker,
            level.name,
            str(level.on_hand),
            str(level.reserved),
            str(level.available),
        )
    console.print(table)
