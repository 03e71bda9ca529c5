"""Stores' POS: what a till asks the hub (a product and its stock everywhere) and tells it (a
sale, a return of any channel's order), each recorded once however often the till retries."""
