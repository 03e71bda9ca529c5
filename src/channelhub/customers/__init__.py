"""Customers: one profile per person across every channel (identity resolution, golden record,
data-protection export and erasure). See ``identity`` for the contract other parts use."""
