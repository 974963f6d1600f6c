"""Market data in the Data Manager: klines, trades and funding rates."""
