"""The realtime strategies service (``petrosa realtime serve``, port 8030).

``RealtimeService`` owns symbols through coordination leases, feeds each owned symbol's
NATS streams to its ``SymbolEngine`` and publishes the signals; ``api.create_app`` serves
health, status and metrics. Modules: ``ownership`` (leases, fair share), ``inputs``
(subscriptions), ``parameters`` (the Data Manager document), ``publisher`` (JetStream and
the records), ``metrics``, ``settings``.
"""

from petrosa.realtime.service.ownership import Ownership, SymbolKey, fair_share
from petrosa.realtime.service.service import RealtimeService
from petrosa.realtime.service.settings import RealtimeSettings

__all__ = ["Ownership", "RealtimeService", "RealtimeSettings", "SymbolKey", "fair_share"]
