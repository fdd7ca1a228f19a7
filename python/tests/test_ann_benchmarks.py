"""hashidx as ann-benchmarks runs it: the drop-in module (python/ann_benchmarks/hashidx)
imported the way ann-benchmarks' definitions.py does, into a package laid out like
ann-benchmarks' (its BaseANN replaced by a stand-in with the same methods), driven through
the calls of its runner.py: fit, set_query_arguments(*query_args), query, batch_query,
get_batch_results, get_memory_usage, done."""
from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, exact

BASE_STAND_IN = '''
class BaseANN(object):
    def done(self): pass
    def get_memory_usage(self): return None
    def fit(self, X): pass
    def query(self, q, n): return []
    def batch_query(self, X, n): self.res = [self.query(q, n) for q in X]
    def get_batch_results(self): return self.res
    def get_additional(self): return {}
    def __str__(self): return self.name
'''


@pytest.fixture()
def ann_benchmarks_package(tmp_path, monkeypatch):
    algorithms = tmp_path / "ann_benchmarks" / "algorithms"
    (algorithms / "base").mkdir(parents=True)
    for package in (tmp_path / "ann_benchmarks", algorithms, algorithms / "base"):
        (package / "__init__.py").write_text("")
    (algorithms / "base" / "module.py").write_text(BASE_STAND_IN)
    shutil.copytree(ROOT / "python" / "ann_benchmarks" / "hashidx", algorithms / "hashidx")
    (algorithms / "hashidx" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m.startswith("ann_benchmarks")]:
        del sys.modules[name]


def test_the_drop_in_module_runs_as_ann_benchmarks_runs_it(ann_benchmarks_package, data, queries):
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "python" / "ann_benchmarks" / "hashidx" / "config.yml").read_text())
    definition = config["float"]["angular"][0]
    # definitions.py: import_module(f"{module}.module"), the constructor by name, base_args
    # with '@metric' replaced, then each run group's args.
    module = importlib.import_module(f"{definition['module']}.module")
    constructor = getattr(module, definition["constructor"])
    group = definition["run_groups"]["bits256"]
    base_args = ["angular" if a == "@metric" else a for a in definition["base_args"]]
    algo = constructor(*base_args, *[values[0] for values in group["args"]])
    assert isinstance(algo, importlib.import_module("ann_benchmarks.algorithms.base.module").BaseANN)

    train = data   # 24,000 rows: partitioned, so probes matter
    truth, _ = exact(train, queries[:50], 10)
    algo.fit(train)
    assert algo.get_memory_usage() > 0
    recalls = []
    for probes in group["query_args"][0][:4]:
        algo.set_query_arguments(probes, group["query_args"][1][-1])
        assert f"probes={probes}" in str(algo)
        found = [algo.query(q, 10) for q in queries[:50]]
        recalls.append(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)]))
        algo.batch_query(queries[:50], 10)
        assert [list(r) for r in algo.get_batch_results()] == [list(f) for f in found]
    assert recalls == sorted(recalls), "more probes never lower recall"
    assert recalls[-1] >= 0.9
    assert algo.get_additional()["partitions"] > 0
    assert recalls[0] < recalls[-1]
    algo.done()


def test_euclidean_is_refused():
    from hashidx.ann_benchmarks import HashIdxANN
    with pytest.raises(ValueError, match="cosine"):
        HashIdxANN("euclidean")


def test_config_names_the_module_and_constructor():
    text = (ROOT / "python" / "ann_benchmarks" / "hashidx" / "config.yml").read_text()
    assert "module: ann_benchmarks.algorithms.hashidx" in text and "constructor: HashIdx" in text
    assert "base_args: ['@metric']" in text
