"""Binance's WebSocket market streams, served by the simulator on its HTTP port.

Paths (``endpoints``): spot ``/ws[/<stream>…]`` (raw frames) and ``/stream?streams=a/b``
(combined ``{"stream","data"}``); USD-M futures the same under ``/public`` (depth,
bookTicker) and ``/market`` (aggTrade, markPrice, kline). A stream on the wrong futures route
is accepted and never delivers, as on Binance.

How a connection runs (``connection``): a sender polls its subscriptions' feeds (``feeds``,
or the synthetic ``firehose``) every ``EXCHANGE_SIM_WS_TICK_MS`` at the clock's "now" and
sends what is due; a receiver answers control messages (``commands``) under the incoming
message limit (``limits``). ``hub`` holds every connection, the rules from the settings and
the injected faults (``faults``, driven over HTTP by ``api``). ``asgi`` puts the stream paths
in front of the HTTP app.

This package's ``__init__`` imports nothing, so the settings can name firehose stream types
without an import cycle.
"""
