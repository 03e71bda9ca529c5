"""channelhub: an omnichannel commerce hub."""

__version__ = "0.1.0"
