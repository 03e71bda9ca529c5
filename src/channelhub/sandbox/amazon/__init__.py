"""Amazon Selling Partner API sandbox (Listings Items 2021-08-01, Feeds 2021-06-30 with the
JSON listings feed, Orders v0) with Login with Amazon's token endpoint."""

from channelhub.sandbox.amazon.app import create_app
from channelhub.sandbox.amazon.state import AmazonState, Seller

__all__ = ["AmazonState", "Seller", "create_app"]
