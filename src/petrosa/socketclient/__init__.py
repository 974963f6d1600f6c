"""The socket client: Binance's WebSocket market streams → NATS.

Combined streams only; the symbol and stream type of every frame come from its stream name.
Each frame is published on ``binance.<market>.<stream>.<SYMBOL>``, and a synced local order
book per symbol on ``binance.<market>.book.<SYMBOL>``. It never touches a database.
"""
