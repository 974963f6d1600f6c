"""The lease table and its atomic statements, in each SQL dialect's own words.

Expiry is stored as epoch seconds (a double) computed from the database server's clock
(``{now}`` below), so every comparison is made on one clock, inside the statement that acts
on it. The rules are those of ``_rules``; each acquisition is a single atomic step:

- PostgreSQL, SQLite: one ``INSERT … ON CONFLICT (name) DO UPDATE … WHERE <free, expired
  or mine> RETURNING`` (no row returned = someone else holds it).
- MariaDB/MySQL: in one transaction, make sure the row exists (a no-op upsert that also
  locks it), then one conditional ``UPDATE`` (matched rows = acquired), then read the token
  back; the row lock makes the three one step for every other contender. Its token
  assignment comes first and reads only old values, so it is right whether the server
  evaluates SET assignments left to right (the default) or simultaneously.
"""

from __future__ import annotations

from dataclasses import dataclass

TABLE = "leases"
PG_SCHEMA_LOCK_KEY = 0x70_65_74_72_6F_73_61
"""pg_advisory_xact_lock key ("petrosa") serializing concurrent CREATE TABLE IF NOT EXISTS,
which PostgreSQL does not make safe by itself (a racing creator fails on pg_type)."""

_NOW = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS DOUBLE PRECISION)",
    # Session time zone is UTC (set on connect), so NOW(6) converts back without DST folds.
    "mysql": "UNIX_TIMESTAMP(NOW(6))",
    # SQLite keeps 'now' fixed for the whole statement; its clock is this host's.
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
_FIRST_TOKEN = {  # the store's time in microseconds (see _rules.first_token)
    "postgresql": "CAST(FLOOR({now} * 1000000) AS BIGINT)",
    "mysql": "CAST(FLOOR({now} * 1000000) AS SIGNED)",
    "sqlite": "CAST({now} * 1000000 AS INTEGER)",
}
_TTL = {
    "postgresql": "CAST(:ttl AS DOUBLE PRECISION)",
    "mysql": ":ttl",
    "sqlite": ":ttl",
}
_CREATE = {
    "postgresql": (
        f"SELECT pg_advisory_xact_lock({PG_SCHEMA_LOCK_KEY})",
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " owner VARCHAR(255) NULL,"
        " token BIGINT NOT NULL,"
        " expires_at DOUBLE PRECISION NOT NULL)",
    ),
    "mysql": (
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " name VARCHAR(255) NOT NULL PRIMARY KEY,"
        " owner VARCHAR(255) NULL,"
        " token BIGINT NOT NULL,"
        " expires_at DOUBLE NOT NULL"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    ),
    "sqlite": (
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " name TEXT NOT NULL PRIMARY KEY,"
        " owner TEXT NULL,"
        " token INTEGER NOT NULL,"
        " expires_at REAL NOT NULL)",
    ),
}

_UPSERT_ACQUIRE = f"""
INSERT INTO {TABLE} (name, owner, token, expires_at)
VALUES (:name, :owner, {{first_token}}, {{now}} + {{ttl}})
ON CONFLICT (name) DO UPDATE SET
    token = CASE WHEN {TABLE}.owner = excluded.owner AND {TABLE}.expires_at > {{now}}
                 THEN {TABLE}.token ELSE {TABLE}.token + 1 END,
    owner = excluded.owner,
    expires_at = excluded.expires_at
WHERE {TABLE}.owner IS NULL OR {TABLE}.owner = excluded.owner OR {TABLE}.expires_at <= {{now}}
RETURNING token, expires_at
"""

_MYSQL_ENSURE_ROW = f"""
INSERT INTO {TABLE} (name, owner, token, expires_at) VALUES (:name, NULL, {{first_token}} - 1, 0)
ON DUPLICATE KEY UPDATE name = name
"""

_MYSQL_TAKE = f"""
UPDATE {TABLE} SET
    token = IF(owner = :owner AND expires_at > {{now}}, token, token + 1),
    expires_at = {{now}} + {{ttl}},
    owner = :owner
WHERE name = :name AND (owner IS NULL OR owner = :owner OR expires_at <= {{now}})
"""

_RENEW = f"""
UPDATE {TABLE} SET expires_at = {{now}} + {{ttl}}
WHERE name = :name AND owner = :owner AND token = :token
"""

_READ_BACK = f"SELECT token, expires_at FROM {TABLE} WHERE name = :name"

_RELEASE = f"""
UPDATE {TABLE} SET owner = NULL, expires_at = {{now}}
WHERE name = :name AND owner = :owner AND token = :token
"""

_HOLDER = f"""
SELECT owner, token, expires_at FROM {TABLE}
WHERE name = :name AND owner IS NOT NULL AND expires_at > {{now}}
"""


@dataclass(frozen=True)
class LeaseStatements:
    """The SQL one dialect runs; ``returning`` tells whether UPDATE … RETURNING exists."""

    dialect: str
    create: tuple[str, ...]
    acquire: str
    """Upsert with RETURNING, or (MySQL) the conditional UPDATE after ``ensure_row``."""
    ensure_row: str | None
    renew: str
    read_back: str
    release: str
    holder: str
    ping: str

    @property
    def returning(self) -> bool:
        return self.ensure_row is None


def statements_for(dialect: str) -> LeaseStatements:
    """The statements of ``dialect`` (SQLAlchemy's name: postgresql, mysql or sqlite)."""
    if dialect not in _NOW:
        raise ValueError(f"no lease statements for dialect {dialect!r}")

    first = _FIRST_TOKEN[dialect].format(now=_NOW[dialect])

    def fill(template: str) -> str:
        return template.format(now=_NOW[dialect], ttl=_TTL[dialect], first_token=first).strip()

    mysql = dialect == "mysql"
    returning = "" if mysql else "\nRETURNING token, expires_at"
    return LeaseStatements(
        dialect=dialect,
        create=_CREATE[dialect],
        acquire=fill(_MYSQL_TAKE if mysql else _UPSERT_ACQUIRE),
        ensure_row=fill(_MYSQL_ENSURE_ROW) if mysql else None,
        renew=fill(_RENEW) + returning,
        read_back=_READ_BACK,
        release=fill(_RELEASE),
        holder=fill(_HOLDER),
        ping=f"SELECT {_NOW[dialect]}",
    )
