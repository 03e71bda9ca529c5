"""The sample retailer that ``make demo`` and the README's examples use."""
