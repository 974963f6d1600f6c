"""Binance REST/WebSocket clients and the local exchange simulator that stands in for Binance."""
