"""The product catalog (PIM): attributes, families, products, channel requirements, completeness."""
