"""Local simulators of channel APIs, written from each platform's published contract alone.

They are test and demo equipment: each keeps its own state, enforces the platform's
documented rate limits and answers with its documented error bodies, and can inject faults
(5xx, timeouts, 429 storms, outages). A sandbox never imports connector code, the hub's
services or its tables, so a misreading of a contract cannot hide in both at once.
"""
