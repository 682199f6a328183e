"""SoleFlip pricing: market data, fee schedule, repricing rules and recommendations."""
