"""hashidx behind ann-benchmarks' algorithm protocol (``BaseANN``): ``fit``,
``set_query_arguments``, ``query``, ``batch_query``/``get_batch_results``,
``get_memory_usage``, ``get_additional``, ``done``.

ann-benchmarks loads ``ann_benchmarks/algorithms/hashidx/module.py`` (``python/ann_benchmarks/hashidx``
in this repository: that file, its ``config.yml`` and ``Dockerfile``), which mixes this class
with its own ``BaseANN``. Used alone it needs nothing from ann-benchmarks:

>>> algo = HashIdxANN("angular", 256)
>>> algo.fit(train)                       # float32 (n, d)
>>> algo.set_query_arguments(32, 200)     # probes, candidates
>>> algo.query(test[0], 10)               # row numbers into train
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .index import Index, build


class HashIdxANN:
    """One hashidx configuration as ann-benchmarks runs it: an index over ``X`` (cosine,
    ann-benchmarks' "angular"), searched one query at a time or in batches.

    ``bits``: code length; ``partitions``: None for the default (about 2√n); ``float32``:
    store float32 vectors instead of float16.
    """

    def __init__(self, metric: str, bits: int = 256, partitions: Optional[int] = None, float32: bool = False) -> None:
        if metric not in ("angular", "cosine"):
            raise ValueError(f"hashidx ranks by cosine: metric must be 'angular', got {metric!r}")
        self.metric = metric
        self.bits = int(bits)
        self.partitions = partitions
        self.float32 = bool(float32)
        self.probes: Optional[int] = None
        self.candidates: Optional[int] = None
        self.index: Optional[Index] = None
        self._directory: Optional[Path] = None
        self.res: Any = None
        self.name = self._name()

    def _name(self) -> str:
        return (f"hashidx(bits={self.bits}, partitions={self.partitions or 'auto'}, "
                f"{'float32' if self.float32 else 'float16'}, probes={self.probes}, candidates={self.candidates})")

    def fit(self, X: np.ndarray) -> None:
        """Builds the index over the rows of ``X`` in a temporary directory."""
        self.done()
        self._directory = Path(tempfile.mkdtemp(prefix="hashidx-ann-"))
        X = np.asarray(X)
        if X.dtype != np.float32:
            X = X.astype(np.float32)
        # ann-benchmarks' angular sets may hold all-zero rows; give them a direction (as its
        # ScaNN module does), since a zero vector has no cosine.
        zero = ~np.any(X, axis=1)
        if zero.any():
            X = X.copy()
            X[zero] = 1.0 / np.sqrt(X.shape[1])
        self.index = build(self._directory / "index.hidx", X, bits=self.bits, partitions=self.partitions,
                           float32_vectors=self.float32)

    def set_query_arguments(self, probes: Optional[int] = None, candidates: Optional[int] = None) -> None:
        """Partitions scanned and candidates re-ranked per query (None: the index's defaults)."""
        self.probes = probes
        self.candidates = candidates
        self.name = self._name()

    def query(self, v: np.ndarray, n: int) -> np.ndarray:
        """The row numbers of the ``n`` nearest rows to ``v``, best first."""
        assert self.index is not None, "fit() first"
        rows, _ = self.index.search_rows(v, n, probes=self.probes, candidates=self.candidates)
        return rows[rows >= 0]

    def batch_query(self, X: np.ndarray, n: int) -> None:
        """Searches every row of ``X`` on all cores; :meth:`get_batch_results` returns them."""
        assert self.index is not None, "fit() first"
        rows, _ = self.index.search_rows(X, n, probes=self.probes, candidates=self.candidates)
        self.res = rows

    def get_batch_results(self) -> np.ndarray:
        return self.res

    def get_memory_usage(self) -> Optional[float]:
        """The process's resident memory in kilobytes (what ann-benchmarks records)."""
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 1024
        except OSError:
            return None

    def get_additional(self) -> dict:
        if self.index is None:
            return {}
        info = self.index.info
        return {"index_bytes": info["bytes_on_disk"], "partitions": info["partitions"]}

    def done(self) -> None:
        """Closes the index and removes its directory."""
        if self.index is not None:
            self.index.close()
            self.index = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __str__(self) -> str:
        return self.name
