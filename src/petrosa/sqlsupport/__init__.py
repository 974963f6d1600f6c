"""SQL plumbing shared by the Data Manager and coordination's SQL lease store.

One way to turn a URL into a configured async engine (:mod:`.engines`), to tell what a
driver error means (:mod:`.errors`), to rerun a transaction the database aborted
(:mod:`.retry`), and to put a deadline on a unit of work that also bounds its cleanup
(:mod:`.deadline`). Only packages allowed to talk to databases import it.
"""

from petrosa.sqlsupport.deadline import DeadlineExceeded, hard_deadline
from petrosa.sqlsupport.engines import EngineOptions, create_engine
from petrosa.sqlsupport.errors import describe, is_statement_timeout, is_transient
from petrosa.sqlsupport.retry import MAX_ATTEMPTS, retry_transient
from petrosa.sqlsupport.urls import ASYNC_DRIVERS, UnsupportedDatabaseURL, async_url, redacted

__all__ = [
    "ASYNC_DRIVERS",
    "MAX_ATTEMPTS",
    "DeadlineExceeded",
    "EngineOptions",
    "UnsupportedDatabaseURL",
    "async_url",
    "create_engine",
    "describe",
    "hard_deadline",
    "is_statement_timeout",
    "is_transient",
    "redacted",
    "retry_transient",
]
