"""Quoting for SQL text built around data-derived names (column headers, tag keys).

Values always go in as parameters where DuckDB allows it; where a name from a file has to
become part of the SQL text (a CSV header as a column reference, a tag key inside a map
lookup), it is quoted here and nowhere else, so a hostile header stays inert.
"""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted identifier: `a"b` -> `"a""b"`."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted string literal: `it's` -> `'it''s'` (DuckDB strings have no backslash escapes)."""
    if "\x00" in value:
        raise ValueError("string contains a NUL byte")
    return "'" + value.replace("'", "''") + "'"
