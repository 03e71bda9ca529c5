"""Inventory: locations, stock, the movements ledger, reservations and available-to-promise."""
