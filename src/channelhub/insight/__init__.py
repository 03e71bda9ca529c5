"""Insight: analytics over the store and (later) the channel-consistency audit.

Dashboard figures come from rollups (``sales_daily``, ``sku_daily``) that are derived from the
orders tables and can be rebuilt from them at any time; everything else reads the store as is.
"""
