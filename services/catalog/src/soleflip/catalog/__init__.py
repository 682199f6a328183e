"""catalog: products, variants, sizes and brands resolved exactly against StockX."""
