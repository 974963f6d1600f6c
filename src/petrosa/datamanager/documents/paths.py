"""Field paths: ``"a.b"`` names field ``b`` inside object ``a``.

Every part must look like an identifier, so a path can be written into a JSON path or a
PostgreSQL path array without quoting rules, and means the same thing on every engine
(a numeric part would be an array index on some engines and a key on others).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from petrosa.contracts.documents import ID_FIELD
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import MAX_NESTING

_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")

Loc = Sequence[str | int]


@dataclass(frozen=True)
class FieldPath:
    """A validated dotted path, split into its parts."""

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.parts)

    @property
    def is_id(self) -> bool:
        """True for ``_id``, which lives in its own column rather than in the JSON body."""
        return self.parts == (ID_FIELD,)

    def startswith(self, other: FieldPath) -> bool:
        """True when ``other`` is this path or one of its ancestors."""
        return self.parts[: len(other.parts)] == other.parts


def parse_path(text: object, loc: Loc) -> FieldPath:
    """Validate a dotted field path; a bad one is a 422 at ``loc``."""
    if not isinstance(text, str):
        raise InvalidInput(loc, "a field path must be a string")
    parts = tuple(text.split("."))
    if len(parts) > MAX_NESTING:
        raise InvalidInput(loc, f"field path {text!r} is nested deeper than {MAX_NESTING} levels")
    for part in parts:
        if not _PART.fullmatch(part):
            raise InvalidInput(
                loc,
                f"bad field path {text!r}: each dot-separated part must start with a letter or"
                " '_' and hold only letters, digits, '_' or '-' (at most 64 characters)",
            )
    if parts[0] == ID_FIELD and len(parts) > 1:
        raise InvalidInput(loc, f"{ID_FIELD} is a string: it has no nested fields")
    return FieldPath(parts)


def parse_path_list(
    raw: Sequence[object], loc: Loc, *, max_paths: int, allow_id: bool = True
) -> tuple[FieldPath, ...]:
    """Validate a list of distinct field paths (projection, unique key)."""
    if len(raw) > max_paths:
        raise InvalidInput(loc, f"at most {max_paths} fields")
    paths: list[FieldPath] = []
    for index, text in enumerate(raw):
        path = parse_path(text, [*loc, index])
        if path.is_id and not allow_id:
            raise InvalidInput([*loc, index], f"{ID_FIELD} cannot be used here")
        if path in paths:
            raise InvalidInput([*loc, index], f"field {text!r} is listed twice")
        paths.append(path)
    return tuple(paths)
