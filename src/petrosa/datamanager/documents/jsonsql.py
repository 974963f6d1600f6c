"""Reading one field of the JSON body column, in each engine's own SQL.

Each engine answers four questions about the value at a path: its JSON type, and — when
it is a number, string or boolean — that value as a SQL number, binary-comparable string
or 0/1. ``fields.py`` combines them into type-safe comparisons and sort terms.

* SQLite (JSON1): ``json_type(body, '$."a"."b"')``, ``json_extract(...)`` (native types).
* MariaDB/MySQL: ``JSON_TYPE(JSON_EXTRACT(body, '$."a"."b"'))``; numbers through
  ``CAST(... AS DOUBLE)``, strings as ``CAST(JSON_UNQUOTE(...) AS BINARY)`` so they
  compare by code point, case- and trailing-space-sensitively.
* PostgreSQL (JSONB): ``jsonb_typeof(body #> '{a,b}')``; numbers as ``NUMERIC``
  (exact), strings ``COLLATE "C"`` (code point order).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Double,
    Numeric,
    String,
    Text,
    case,
    cast,
    func,
    literal,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from petrosa.datamanager.documents.paths import FieldPath

SqlExpr = ColumnElement[Any]


class JsonDialect(ABC):
    """How one engine reads the value at a path of the ``body`` JSON column."""

    number_types: tuple[str, ...]
    string_types: tuple[str, ...]
    bool_types: tuple[str, ...]
    null_types: tuple[str, ...]

    def __init__(self, body: SqlExpr) -> None:
        self.body = body

    @abstractmethod
    def type_name(self, path: FieldPath) -> SqlExpr:
        """The engine's JSON type name of the value; SQL NULL when the field is missing."""

    @abstractmethod
    def number(self, path: FieldPath) -> SqlExpr:
        """The value as a SQL number; only evaluated when the type is a number."""

    @abstractmethod
    def string(self, path: FieldPath) -> SqlExpr:
        """The value as a binary-comparable string; only evaluated for strings."""

    @abstractmethod
    def boolean(self, path: FieldPath) -> SqlExpr:
        """1 for true, 0 for false; only evaluated for booleans."""

    @abstractmethod
    def raw(self, path: FieldPath) -> SqlExpr:
        """The value as JSON text; SQL NULL when the field is missing."""

    def string_operand(self, value: str) -> SqlExpr:
        """A bound string that compares with :meth:`string` the way Python compares ``str``."""
        return literal(value, String())

    def number_operand(self, value: int | float) -> SqlExpr:
        """A bound number, typed so integers stay exact."""
        if isinstance(value, int):
            return literal(value, BigInteger())
        return literal(value, Double())


def json_path(path: FieldPath) -> str:
    """SQLite/MySQL JSON path; parts are identifier-like (see paths.py), so quoting is safe."""
    return "$" + "".join(f'."{part}"' for part in path.parts)


class SqliteJson(JsonDialect):
    number_types = ("integer", "real")
    string_types = ("text",)
    bool_types = ("true", "false")
    null_types = ("null",)

    def _path(self, path: FieldPath) -> SqlExpr:
        return literal(json_path(path), String())

    def type_name(self, path: FieldPath) -> SqlExpr:
        return func.json_type(self.body, self._path(path))

    def number(self, path: FieldPath) -> SqlExpr:
        return func.json_extract(self.body, self._path(path))

    def string(self, path: FieldPath) -> SqlExpr:
        return func.json_extract(self.body, self._path(path))

    def boolean(self, path: FieldPath) -> SqlExpr:
        return func.json_extract(self.body, self._path(path))

    def raw(self, path: FieldPath) -> SqlExpr:
        # ``->`` (SQLite 3.38+) keeps JSON spelling: true stays true, not 1.
        return self.body.op("->", return_type=Text())(self._path(path))


class MysqlJson(JsonDialect):
    number_types = ("INTEGER", "DOUBLE", "DECIMAL", "UNSIGNED INTEGER")
    string_types = ("STRING",)
    bool_types = ("BOOLEAN",)
    null_types = ("NULL",)

    def _extract(self, path: FieldPath) -> SqlExpr:
        return func.json_extract(self.body, literal(json_path(path), String()), type_=Text())

    def type_name(self, path: FieldPath) -> SqlExpr:
        return func.json_type(self._extract(path))

    def number(self, path: FieldPath) -> SqlExpr:
        return AsDouble(self._extract(path))

    def string(self, path: FieldPath) -> SqlExpr:
        return cast(func.json_unquote(self._extract(path)), mysql.BINARY())

    def boolean(self, path: FieldPath) -> SqlExpr:
        return case((func.json_unquote(self._extract(path)) == "true", 1), else_=0)

    def raw(self, path: FieldPath) -> SqlExpr:
        return self._extract(path)

    def string_operand(self, value: str) -> SqlExpr:
        return cast(literal(value, String()), mysql.BINARY())


class PostgresJson(JsonDialect):
    number_types = ("number",)
    string_types = ("string",)
    bool_types = ("boolean",)
    null_types = ("null",)

    def _path(self, path: FieldPath) -> SqlExpr:
        return literal(list(path.parts), ARRAY(Text()))

    def _value(self, path: FieldPath) -> SqlExpr:
        return self.body.op("#>", return_type=JSONB())(self._path(path))

    def _text(self, path: FieldPath) -> SqlExpr:
        return self.body.op("#>>", return_type=Text())(self._path(path))

    def type_name(self, path: FieldPath) -> SqlExpr:
        return func.jsonb_typeof(self._value(path))

    def number(self, path: FieldPath) -> SqlExpr:
        return cast(self._text(path), Numeric())

    def string(self, path: FieldPath) -> SqlExpr:
        return self._text(path).collate("C")

    def boolean(self, path: FieldPath) -> SqlExpr:
        return case((self._text(path) == "true", 1), else_=0)

    def raw(self, path: FieldPath) -> SqlExpr:
        return cast(self._value(path), Text())


class AsDouble(FunctionElement[float]):
    """``CAST(x AS DOUBLE)``, which SQLAlchemy's MySQL dialect would silently drop."""

    type = Double()
    name = "as_double"
    inherit_cache = True


@compiles(AsDouble)
def _as_double(element: AsDouble, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DOUBLE PRECISION)"


@compiles(AsDouble, "mysql")
def _as_double_mysql(element: AsDouble, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DOUBLE)"


def json_dialect(dialect_name: str, body: SqlExpr) -> JsonDialect:
    """The JSON reader for ``body`` on the named SQLAlchemy dialect."""
    if dialect_name == "sqlite":
        return SqliteJson(body)
    if dialect_name in ("mysql", "mariadb"):
        return MysqlJson(body)
    if dialect_name == "postgresql":
        return PostgresJson(body)
    raise ValueError(f"no JSON support for dialect {dialect_name!r}")
