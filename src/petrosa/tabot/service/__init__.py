"""The TA bot service (``petrosa tabot serve``, port 8020): closed candles in, signals out.

Package map: ``settings`` (environment), ``triggers`` (extractor events and socket klines
→ what to evaluate), ``streams`` and ``consumer`` (JetStream streams and the durable
consumers the replicas share), ``candles`` (windows read through the Data Manager client),
``config`` (the validated, versioned configuration in the Data Manager), ``runner`` (one
trigger → the last closed candle's signals), ``publisher`` (``signals.trading``, alerts,
and the record of every signal), ``service`` (wiring and readiness), ``api`` (HTTP).
"""

from petrosa.tabot.service.api import create_app
from petrosa.tabot.service.service import TaBot
from petrosa.tabot.service.settings import TabotSettings

__all__ = ["TaBot", "TabotSettings", "create_app"]
