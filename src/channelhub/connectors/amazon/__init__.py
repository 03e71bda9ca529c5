"""Amazon Selling Partner API connector: Listings Items 2021-08-01, JSON_LISTINGS_FEED
(Feeds 2021-06-30), Orders v0, Login with Amazon."""

from channelhub.connectors.amazon.config import AmazonConfig
from channelhub.connectors.amazon.connector import AmazonConnector

__all__ = ["AmazonConfig", "AmazonConnector"]
