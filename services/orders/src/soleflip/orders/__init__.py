"""The orders service: stock, listings and orders mirrored from StockX, with true profit."""
