"""Which driver errors are the client's fault: a value the database refused, not an outage.

Works from the exception types SQLAlchemy raises and the codes the drivers attach, the same
way on every backend: PostgreSQL's SQLSTATE class 22 (data exception) and class 23
(integrity) other than unique violations; MySQL/MariaDB's error numbers for bad values
(pymysql reports most of them as ``OperationalError``, which otherwise means "server
gone"); SQLite's and the drivers' own refusals of values they cannot bind.
"""

from __future__ import annotations

from sqlalchemy import exc

NUMBER_OUT_OF_RANGE = "number_out_of_range"
INVALID_TEXT = "invalid_text"
VALUE_TOO_LONG = "value_too_long"
INVALID_JSON = "invalid_json"
CONSTRAINT_VIOLATED = "constraint_violated"
INVALID_VALUE = "invalid_value"

_MYSQL_CODES = {
    1264: NUMBER_OUT_OF_RANGE,  # Out of range value for column
    1690: NUMBER_OUT_OF_RANGE,  # BIGINT value is out of range
    1366: INVALID_TEXT,  # Incorrect string/integer value
    1300: INVALID_TEXT,  # Invalid utf8mb4 character string
    1292: INVALID_VALUE,  # Truncated incorrect value / incorrect datetime value
    1265: VALUE_TOO_LONG,  # Data truncated for column
    1406: VALUE_TOO_LONG,  # Data too long for column
    3140: INVALID_JSON,  # Invalid JSON text (MySQL)
    4038: INVALID_JSON,  # Syntax error in JSON text (MariaDB)
    4025: CONSTRAINT_VIOLATED,  # CONSTRAINT failed (MariaDB: JSON_VALID checks)
    3819: CONSTRAINT_VIOLATED,  # Check constraint is violated (MySQL)
    1048: CONSTRAINT_VIOLATED,  # Column cannot be null
}
_MYSQL_CONFLICTS = {1062, 1586}  # duplicate entry (a conflict, answered 409 elsewhere)
_PG_CODES = {
    "22003": NUMBER_OUT_OF_RANGE,  # numeric value out of range
    "22P05": INVALID_TEXT,  # untranslatable character (\u0000 in JSONB)
    "22021": INVALID_TEXT,  # character not in repertoire (NUL in text)
    "22001": VALUE_TOO_LONG,  # string data right truncation
    "22P02": INVALID_VALUE,  # invalid text representation
    "22032": INVALID_JSON,  # invalid JSON text
}
_PG_UNIQUE_VIOLATION = "23505"


def data_error_code(error: BaseException | None) -> str | None:
    """The reason code when ``error`` (or what it wraps) is a refused value, else None."""
    while error is not None:
        code = _classify(error)
        if code is not None:
            return code
        error = error.__cause__
    return None


def _classify(error: BaseException) -> str | None:
    original = getattr(error, "orig", None) if isinstance(error, exc.DBAPIError) else error
    if original is None:
        return None
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str):
        if sqlstate in _PG_CODES:
            return _PG_CODES[sqlstate]
        if sqlstate.startswith("22"):
            return INVALID_VALUE
        if sqlstate.startswith("23") and sqlstate != _PG_UNIQUE_VIOLATION:
            return CONSTRAINT_VIOLATED
        return None
    args = getattr(original, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    if errno is not None:
        if errno in _MYSQL_CONFLICTS:
            return None
        if errno in _MYSQL_CODES:
            return _MYSQL_CODES[errno]
    if isinstance(error, exc.DataError):
        return INVALID_VALUE
    if isinstance(error, exc.IntegrityError) and not _is_unique_violation(error):
        return CONSTRAINT_VIOLATED
    if isinstance(original, OverflowError):  # sqlite3: int too large for an INTEGER
        return NUMBER_OUT_OF_RANGE
    if isinstance(original, UnicodeEncodeError):  # a lone surrogate cannot become UTF-8
        return INVALID_TEXT
    return None


def _is_unique_violation(error: exc.IntegrityError) -> bool:
    return "UNIQUE constraint failed" in str(error.orig)
