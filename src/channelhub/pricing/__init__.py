"""Pricing: price lists, promotions, price resolution and channel parity."""
