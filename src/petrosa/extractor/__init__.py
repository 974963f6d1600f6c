"""Extractor jobs: fill the Data Manager with Binance market data, incrementally."""
