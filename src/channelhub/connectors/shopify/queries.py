"""Every GraphQL document the Shopify connector sends (Admin API 2026-01).

Kept in one place so the contract tests can validate each against Shopify's published SDL.
Page sizes keep each query's requested cost well under the 1,000-point single-query limit.
"""

from __future__ import annotations

_LINE_FIELDS = """
fragment LineFields on LineItem {
  id
  sku
  quantity
  currentQuantity
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  totalDiscountSet { shopMoney { amount currencyCode } }
  taxLines { priceSet { shopMoney { amount currencyCode } } }
}
"""

_ORDER_FIELDS = (
    """
fragment OrderFields on Order {
  id
  name
  email
  createdAt
  updatedAt
  cancelledAt
  currencyCode
  taxesIncluded
  displayFinancialStatus
  customer { id firstName lastName defaultEmailAddress { emailAddress } }
  shippingAddress { ...AddressFields }
  billingAddress { ...AddressFields }
  lineItems(first: 20) {
    pageInfo { hasNextPage endCursor }
    nodes { ...LineFields }
  }
}

fragment AddressFields on MailingAddress {
  name
  address1
  address2
  zip
  city
  provinceCode
  countryCodeV2
  phone
}
"""
    + _LINE_FIELDS
)

SHOP = """
query Shop {
  shop { name myshopifyDomain currencyCode plan { displayName } }
}
"""

LOCATIONS = """
query Locations {
  locations(first: 20) { nodes { id name isActive fulfillsOnlineOrders } }
}
"""

VARIANTS_BY_SKU = """
query VariantsBySku($query: String!, $first: Int!, $locationId: ID!) {
  productVariants(first: $first, query: $query) {
    nodes {
      id
      sku
      price
      product { id }
      inventoryItem {
        id
        inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { quantity } }
      }
    }
  }
}
"""

PRODUCT_SET = """
mutation ProductSet($identifier: ProductSetIdentifiers, $input: ProductSetInput!) {
  productSet(identifier: $identifier, input: $input, synchronous: true) {
    product {
      id
      handle
      variants(first: 100) { nodes { id sku price inventoryItem { id } } }
    }
    userErrors { field message code }
  }
}
"""

INVENTORY_SET_QUANTITIES = """
mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""

VARIANTS_BULK_UPDATE = """
mutation VariantPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price compareAtPrice }
    userErrors { field message code }
  }
}
"""

ORDERS = (
    """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...OrderFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _ORDER_FIELDS
)

ORDER_LINES = (
    """
query OrderLines($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...LineFields }
    }
  }
}
"""
    + _LINE_FIELDS
)

FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id
        status
        assignedLocation { location { id } }
        lineItems(first: 50) {
          nodes { id remainingQuantity lineItem { id quantity unfulfilledQuantity } }
        }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

ALL_DOCUMENTS: dict[str, str] = {
    "SHOP": SHOP,
    "LOCATIONS": LOCATIONS,
    "VARIANTS_BY_SKU": VARIANTS_BY_SKU,
    "PRODUCT_SET": PRODUCT_SET,
    "INVENTORY_SET_QUANTITIES": INVENTORY_SET_QUANTITIES,
    "VARIANTS_BULK_UPDATE": VARIANTS_BULK_UPDATE,
    "ORDERS": ORDERS,
    "ORDER_LINES": ORDER_LINES,
    "FULFILLMENT_ORDERS": FULFILLMENT_ORDERS,
    "FULFILLMENT_CREATE": FULFILLMENT_CREATE,
}
