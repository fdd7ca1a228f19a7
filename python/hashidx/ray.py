"""Distributed builds on Ray: embeddings read as a Ray Dataset, one model trained on a
sample, the groups of a catalog encoded and written by parallel Ray tasks, one catalog
manifest committed atomically (:mod:`hashidx.catalog`).

>>> import ray, hashidx.ray
>>> ray.init(address="auto")
>>> s3 = pyarrow.fs.S3FileSystem(region="eu-west-1")
>>> catalog = hashidx.ray.build("s3://bucket/embeddings/", "s3://bucket/catalogs/products",
...                             filesystem=s3, catalog_filesystem=s3, column="embedding", id_column="sku",
...                             attribute_columns=["price", "in_stock"], rows_per_group=2_000_000)

The catalog is a directory every node writes to and reads from (a shared filesystem), or a
prefix of an object store (S3 or compatible, :mod:`hashidx.storage`), whose groups every
node opens from verified copies in its own disk cache. Ray is imported when a function here
is called; the package does not need it otherwise.
"""
from __future__ import annotations

import math
import os
import tempfile
from typing import Any, Optional, Sequence

import numpy as np

from . import catalog as catalogs
from . import storage
from .index import build as build_index

#: Rows of the model's training sample by default (the library's training sample).
DEFAULT_SAMPLE = 100_000
#: Rows per group by default.
DEFAULT_ROWS_PER_GROUP = 1_000_000


def _dataset(source: Any, column: str, filesystem: Any = None):
    """A Ray Dataset of `source` (one, or a list of, .parquet/.npy paths or globs, or a
    Dataset) and the name of its vector column."""
    import ray.data
    if isinstance(source, ray.data.Dataset):
        return source, column
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("source: no paths given")
    if all(p.endswith(".npy") for p in paths):
        return ray.data.read_numpy(paths, filesystem=filesystem), "data"
    if all(p.endswith(".parquet") or p.endswith("/") or os.path.isdir(p) for p in paths):
        return ray.data.read_parquet(paths, filesystem=filesystem), column
    raise ValueError(f"source: give .npy or .parquet files (or a ray.data.Dataset), got {paths[:3]}")


def _vectors(batch: dict, column: str) -> np.ndarray:
    values = batch[column]
    if isinstance(values, np.ndarray) and values.dtype != object and values.ndim == 2:
        return values
    return np.stack([np.asarray(v, dtype=np.float32) for v in values])


def _group_task(piece: Any, root: storage.Location, name: str, first_row: int, model: str, column: str,
                id_column: Optional[str], attribute_columns: Sequence[str], float32_vectors: bool,
                cache_dir: Optional[str]) -> dict:
    """Builds one group from its rows with the catalog's model (runs as a Ray task): in
    place on a filesystem; on an object store in a scratch folder beside the node's cache,
    then uploaded (:func:`hashidx.storage.publish`)."""
    vectors, ids, attributes = [], [], []
    for batch in piece.iter_batches(batch_format="numpy", batch_size=65_536):
        v = _vectors(batch, column)
        vectors.append(v)
        if id_column:
            ids.extend(str(x) for x in batch[id_column].tolist())
        if attribute_columns:
            columns = {c: batch[c].tolist() for c in attribute_columns}
            attributes.extend({c: columns[c][i] for c in attribute_columns if columns[c][i] is not None}
                              for i in range(len(v)))
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, 1), np.float32)
    if not id_column:
        ids = [str(first_row + i) for i in range(len(matrix))]
    relative = f"groups/{name}.hidx"
    options = {"ids": ids, "attributes": attributes or None, "float32_vectors": float32_vectors}
    if isinstance(root, storage.LocalFolder):
        index = build_index(root.local_path(relative), matrix, model_from=root.local_path(model), **options)
        rows = len(index)
        index.close()
    else:
        cache = storage.IndexCache(cache_dir)
        with cache.open(root.child(model)) as trained, \
                tempfile.TemporaryDirectory(prefix=".build-", dir=cache.directory) as scratch:
            index = build_index(os.path.join(scratch, "group.hidx"), matrix, model_from=trained.path, **options)
            rows = len(index)
            index.close()
            storage.publish(os.path.join(scratch, "group.hidx"), root.child(relative))
    return {"name": name, "path": relative, "rows": rows}


def build(source: Any, catalog: Any, *, column: str = "embedding",
          id_column: Optional[str] = None, attribute_columns: Sequence[str] = (), groups: Optional[int] = None,
          rows_per_group: int = DEFAULT_ROWS_PER_GROUP, sample_size: int = DEFAULT_SAMPLE, bits: Optional[int] = None,
          partitions: Optional[int] = None, float32_vectors: bool = False, seed: int = 0x68617368,
          task_cpus: float = 1, filesystem: Any = None, catalog_filesystem: Any = None,
          cache_dir: Optional[str] = None) -> catalogs.Catalog:
    """Builds a catalog at ``catalog`` from ``source`` on the Ray cluster this process is
    connected to (``ray.init``), and opens it.

    ``source``: .parquet files or directories of them (vectors in ``column``, a list or
    fixed-size list of floats), .npy files (rows), or a ``ray.data.Dataset``; local, on a
    shared filesystem, or ``s3://`` URLs read through ``filesystem`` (a
    ``pyarrow.fs.S3FileSystem(endpoint_override=…)`` for an S3-compatible store). Ids come from ``id_column`` (else the
    global row numbers, as text); ``attribute_columns`` become the items' attributes.
    ``groups`` (default: ``ceil(rows / rows_per_group)``) groups of consecutive rows are
    built by parallel tasks of ``task_cpus`` CPUs each, all with the model trained once, on
    the driver, on ``sample_size`` rows drawn with ``seed``. ``partitions`` defaults to
    about 2√rows of the whole catalog (none under 20,000 rows).

    ``catalog``: a directory every node sees, or an object store — an ``s3://bucket/prefix``
    URL (through ``catalog_filesystem``, default: from the URL and the environment) or a
    :class:`hashidx.storage.ObjectStore`. On a store each
    task builds its group on its node's disk (beside the :class:`~hashidx.storage.IndexCache`
    at ``cache_dir``) and uploads it; the manifest and ``CURRENT`` go last.
    """
    import ray
    dataset, column = _dataset(source, column, filesystem)
    rows = dataset.count()
    if rows == 0:
        raise ValueError("source: no rows")
    groups = groups or max(1, math.ceil(rows / rows_per_group))
    if not 0 < groups <= min(rows, catalogs.MAX_GROUPS):
        raise ValueError(f"groups: must be 1…{min(rows, catalogs.MAX_GROUPS)}, got {groups}")
    root = storage.location(catalog, catalog_filesystem)
    if isinstance(root, storage.LocalFolder):
        os.makedirs(os.path.join(root.path, "groups"), exist_ok=True)
    generation = catalogs.next_generation(root)

    # 1. The model, trained once on a sample of the whole input.
    fraction = min(1.0, sample_size / rows * 1.1)
    sample = dataset if fraction >= 1 else dataset.random_sample(fraction, seed=seed)
    batches = [_vectors(b, column) for b in sample.iter_batches(batch_format="numpy", batch_size=65_536)]
    sample_vectors = np.concatenate(batches)[:sample_size]
    if partitions is None:
        partitions = 0 if rows < 20_000 else int(round(2 * math.sqrt(rows)))
    partitions = min(partitions, len(sample_vectors))
    model = f"model-{generation}.hidx"
    names = [f"g{g:04d}-{generation}" for g in range(groups)]
    try:
        if isinstance(root, storage.LocalFolder):
            build_index(root.local_path(model), sample_vectors, bits=bits, partitions=partitions, seed=seed).close()
        else:
            with tempfile.TemporaryDirectory(prefix="hashidx-model-") as scratch:
                build_index(os.path.join(scratch, "model.hidx"), sample_vectors, bits=bits, partitions=partitions,
                            seed=seed).close()
                storage.publish(os.path.join(scratch, "model.hidx"), root.child(model))

        # 2. The groups: consecutive rows, one Ray task each.
        bounds = [rows * g // groups for g in range(groups + 1)]
        pieces = dataset.split_at_indices(bounds[1:-1])
        task = ray.remote(num_cpus=task_cpus)(_group_task)
        built = ray.get([task.remote(piece, root, names[g], bounds[g], model, column, id_column, list(attribute_columns),
                                     float32_vectors, cache_dir) for g, piece in enumerate(pieces)])
    except BaseException:
        for name in names:   # nothing of this generation is referenced: remove what was written
            root.child(f"groups/{name}.hidx").remove_tree()
        root.child(model).remove_tree()
        raise

    # 3. One manifest, switched to atomically.
    catalogs.commit(root, model=model, groups=[catalogs.Group(**g) for g in built], dimension=sample_vectors.shape[1],
                    extra={"id_column": id_column, "row_ids": id_column is None})
    return catalogs.Catalog(root, cache=storage.IndexCache(cache_dir) if isinstance(root, storage.ObjectStore) else None)


def serve(catalog: Any, **options: Any) -> Any:
    """Serves the catalog at ``catalog`` (a directory, an ``s3://`` URL with ``filesystem``,
    or a :class:`hashidx.storage.ObjectStore`) on Ray Serve
    (:func:`hashidx.ray_serve.serve_catalog`)."""
    from .ray_serve import serve_catalog
    return serve_catalog(catalog if isinstance(catalog, (storage.LocalFolder, storage.ObjectStore)) or "://" in
                         os.fspath(catalog) else os.path.abspath(os.fspath(catalog)), **options)


__all__ = ["build", "serve"]
