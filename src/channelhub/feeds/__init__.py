"""Product feeds: Google Merchant Center (XML, TSV), local inventory and Meta catalogs."""
