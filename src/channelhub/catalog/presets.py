"""Channel requirement presets taken from the platforms' public product specifications.

Attribute codes are the hub's conventional ones (``name``, ``description``, ``gtin``,
``brand``, ``images``, ``color``, ``size``, ``mpn``); ``apply_preset`` can rename them to a
catalog's own codes.
"""

from __future__ import annotations

from channelhub.catalog.model import Requirement, RuleKind

R = Requirement

PRESETS: dict[str, tuple[Requirement, ...]] = {
    # Google Merchant Center product data specification
    # (support.google.com/merchants/answer/7052112):
    # title max 150 characters, description max 5,000, image_link required and up to 10
    # additional images, brand max 70, mpn max 70, color and size max 100, a valid GTIN.
    "google_merchant": (
        R("name", RuleKind.REQUIRED),
        R("name", RuleKind.MAX_LENGTH, 150),
        R("description", RuleKind.REQUIRED),
        R("description", RuleKind.MAX_LENGTH, 5000),
        R("images", RuleKind.MIN_ITEMS, 1),
        R("images", RuleKind.MAX_ITEMS, 11),
        R("brand", RuleKind.REQUIRED),
        R("brand", RuleKind.MAX_LENGTH, 70),
        R("gtin", RuleKind.VALID_GTIN),
        R("mpn", RuleKind.MAX_LENGTH, 70),
        R("color", RuleKind.MAX_LENGTH, 100),
        R("size", RuleKind.MAX_LENGTH, 100),
    ),
    # bol.com Retailer API v10 content (CreateProductContentSingleRequest): an EAN identifies
    # every offer, attribute values are at most 10,000 characters, content languages nl and fr.
    "bol": (
        R("gtin", RuleKind.REQUIRED),
        R("gtin", RuleKind.VALID_GTIN),
        R("name", RuleKind.REQUIRED),
        R("name", RuleKind.MAX_LENGTH, 10_000),
        R("description", RuleKind.REQUIRED),
        R("description", RuleKind.MAX_LENGTH, 10_000),
        R("images", RuleKind.MIN_ITEMS, 1),
    ),
    # Amazon listings (SP-API Listings Items / product type definitions): item_name at most
    # 200 characters, brand required, product_description at most 2,000 characters, a main
    # image and an external product id (GTIN) unless exempt.
    "amazon": (
        R("name", RuleKind.REQUIRED),
        R("name", RuleKind.MAX_LENGTH, 200),
        R("brand", RuleKind.REQUIRED),
        R("description", RuleKind.REQUIRED),
        R("description", RuleKind.MAX_LENGTH, 2000),
        R("gtin", RuleKind.REQUIRED),
        R("gtin", RuleKind.VALID_GTIN),
        R("images", RuleKind.MIN_ITEMS, 1),
        R("images", RuleKind.MAX_ITEMS, 9),
    ),
}
