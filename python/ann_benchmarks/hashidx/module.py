"""hashidx in ann-benchmarks: copy this directory to ann_benchmarks/algorithms/hashidx/.

The class is hashidx.ann_benchmarks.HashIdxANN (installed with the hashidx Python package)
with ann-benchmarks' BaseANN for whatever it does not define.
"""
from hashidx.ann_benchmarks import HashIdxANN

from ..base.module import BaseANN


class HashIdx(HashIdxANN, BaseANN):
    pass
