"""The message bus: NATS in deployments, in-process for the embedded mode, or off."""

from petrosa.bus._base import BusUnavailable, MessageBus, subject_matches
from petrosa.bus._factory import BusSettings, bus_from_settings
from petrosa.bus._inprocess import InProcessBus, NullBus
from petrosa.bus._nats import NatsBus, connect_nats

__all__ = [
    "BusSettings",
    "BusUnavailable",
    "InProcessBus",
    "MessageBus",
    "NatsBus",
    "NullBus",
    "bus_from_settings",
    "connect_nats",
    "subject_matches",
]
