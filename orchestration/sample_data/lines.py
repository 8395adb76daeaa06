"""Columnar line-item builder: resources add runs of rows with scalar or array values; strings
are dictionary-encoded so that tens of millions of rows fit in memory as Arrow."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

STRING = "string"
FLOAT = "float"
TIME = "time"


class Lines:
    def __init__(self, schema: dict[str, str]):
        self.schema = schema
        self.parts: dict[str, list] = defaultdict(list)
        self.n = 0

    def add(self, n: int, **values) -> None:
        if n <= 0:
            return
        unknown = set(values) - set(self.schema)
        if unknown:
            raise KeyError(f"unknown line-item fields: {sorted(unknown)}")
        for name in self.schema:
            self.parts[name].append((values.get(name), n))
        self.n += n

    def column(self, name: str) -> pa.Array:
        kind = self.schema[name]
        parts = self.parts[name]
        if kind == STRING:
            dictionary: dict[str, int] = {}
            codes = []
            for value, n in parts:
                if isinstance(value, np.ndarray):
                    uniq, inv = np.unique(value.astype(str), return_inverse=True)
                    mapping = np.array([dictionary.setdefault(u, len(dictionary)) for u in uniq], dtype=np.int32)
                    codes.append(mapping[inv])
                elif value is None:
                    codes.append(np.full(n, -1, dtype=np.int32))
                else:
                    codes.append(np.full(n, dictionary.setdefault(value, len(dictionary)), dtype=np.int32))
            idx = np.concatenate(codes) if codes else np.zeros(0, np.int32)
            mask = idx < 0
            arr = pa.DictionaryArray.from_arrays(
                pa.array(np.where(mask, 0, idx), type=pa.int32(), mask=mask),
                pa.array(list(dictionary) or [""], type=pa.string()),
            )
            return arr
        if kind == FLOAT:
            vals = [np.full(n, np.nan if v is None else v, dtype=np.float64) if not isinstance(v, np.ndarray) else v.astype(np.float64)
                    for v, n in parts]
            data = np.concatenate(vals) if vals else np.zeros(0)
            return pa.array(data, type=pa.float64(), from_pandas=True)
        if kind == TIME:
            vals = [np.full(n, np.datetime64(v, "s")) if not isinstance(v, np.ndarray) else v.astype("datetime64[s]")
                    for v, n in parts]
            data = np.concatenate(vals) if vals else np.zeros(0, "datetime64[s]")
            return pa.array(data, type=pa.timestamp("s"))
        raise ValueError(kind)

    def codes(self, name: str) -> np.ndarray:
        """Row -> index of the add() call that wrote it (used to attach per-resource maps)."""
        return np.repeat(np.arange(len(self.parts[name])), [n for _, n in self.parts[name]])
