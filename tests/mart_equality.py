"""Row-for-row comparison of two builds of a mart (DuckDB against Spark, or DuckDB before and
after a change): money (DECIMAL) to the cent, doubles to a relative tolerance (two engines, or
two parallel DuckDB runs, add floating-point numbers in different orders), everything else
exact. JSON evidence is compared as parsed JSON, its numbers with the same tolerances."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

CENT = Decimal("0.005")   # equal to the cent: less than half a cent apart
REL_TOL = 1e-9
ABS_TOL = 1e-9


@dataclass
class Difference:
    row: int
    column: str
    left: object
    right: object


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return abs(Decimal(str(a)) - Decimal(str(b))) < CENT
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "{[" and b[:1] in "{[":
        try:
            return _json_close(json.loads(a), json.loads(b))
        except ValueError:
            return a == b
    return a == b


def _json_close(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_close(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(a, str) and isinstance(b, str):
        return a.replace("T", " ") == b.replace("T", " ")  # timestamps inside JSON: same instant
    return a == b


def _sort_key(row: tuple) -> tuple:
    """Exact values first (text, dates, integers, booleans), numbers rounded coarsely after, so
    the two sides line up even where the last digits of a double differ."""
    exact, rough = [], []
    for v in row:
        if v is None:
            exact.append((0, ""))
        elif isinstance(v, (float, Decimal)):
            rough.append(round(float(v), 2) if not (isinstance(v, float) and math.isnan(v)) else 0.0)
        elif isinstance(v, (datetime, date)):
            exact.append((1, v.isoformat()))
        elif isinstance(v, bool):
            exact.append((2, str(v)))
        elif isinstance(v, int):
            exact.append((3, f"{v:+025d}"))
        else:
            exact.append((4, str(v)))
    return tuple(exact) + tuple(rough)


def compare_rows(columns: list[str], left: list[tuple], right: list[tuple], limit: int = 10) -> list[Difference]:
    """The differences between two row sets of the same columns (at most `limit`); [] if equal."""
    if len(left) != len(right):
        return [Difference(-1, "(row count)", len(left), len(right))]
    out = []
    for i, (a, b) in enumerate(zip(sorted(left, key=_sort_key), sorted(right, key=_sort_key))):
        for col, x, y in zip(columns, a, b):
            if not _close(x, y):
                out.append(Difference(i, col, x, y))
                if len(out) >= limit:
                    return out
    return out
