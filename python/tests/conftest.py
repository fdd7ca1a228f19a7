"""Shared data for the Python tests: clustered vectors with attributes and labels, an index
built from them with string ids, and NumPy's exact cosine answers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hashidx

ROOT = Path(__file__).resolve().parents[2]
ROWS, DIM, CLUSTERS = 24_000, 32, 60
COLOURS = ["red", "green", "blue"]


def clustered(rows: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, dim)).astype(np.float32)
    return (centres[np.arange(rows) % CLUSTERS] + 0.6 * rng.normal(size=(rows, dim))).astype(np.float32)


def exact(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and cosines of the k nearest rows of `base` to each query, by brute force."""
    b = base / np.linalg.norm(base, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ b.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(sims, top, axis=1)


@pytest.fixture(scope="session")
def data() -> np.ndarray:
    return clustered(ROWS, DIM, seed=7)


@pytest.fixture(scope="session")
def queries(data: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(11)
    return (data[rng.choice(ROWS, 200, replace=False)] + 0.3 * rng.normal(size=(200, DIM))).astype(np.float32)


@pytest.fixture(scope="session")
def ids() -> list[str]:
    return [f"sku-{i}" for i in range(ROWS)]


@pytest.fixture(scope="session")
def attributes() -> list[dict]:
    return [{"colour": COLOURS[i % 3], "price": i % 100, "tags": ["even"] if i % 2 == 0 else []} for i in range(ROWS)]


@pytest.fixture(scope="session")
def index_path(tmp_path_factory: pytest.TempPathFactory, data: np.ndarray, ids: list[str], attributes: list[dict]) -> Path:
    path = tmp_path_factory.mktemp("index") / "shop.hidx"
    hashidx.build(path, data, ids=ids, attributes=attributes).close()
    return path


@pytest.fixture()
def index(index_path: Path):
    with hashidx.open(index_path) as index:
        yield index
