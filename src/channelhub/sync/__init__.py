"""The sync engine: connections, inbox, dispatcher, jobs, worker, message log, reconciliation.

Events leave the services through the outbox; the dispatcher turns them into per-connection
jobs (coalesced per key); the worker delivers the hub's current value through each
connection's connector, with rate limits, retries, dead letters and a searchable log.
"""
