"""Every table of the Data Manager, imported so they register on the shared MetaData."""

from petrosa.datamanager.storage import documents_schema as documents_schema
from petrosa.datamanager.storage import market_schema
from petrosa.datamanager.storage import trading_schema as trading_schema
from petrosa.datamanager.storage.metadata import metadata

__all__ = ["market_schema", "metadata"]
