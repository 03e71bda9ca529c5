"""Shared plumbing: settings, database, errors, events, pagination."""
