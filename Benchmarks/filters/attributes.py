#!/usr/bin/env python3
"""Synthetic catalog attributes for a vector file's rows, for the filtered-search benchmark.

    python3 Benchmarks/filters/attributes.py N OUT.jsonl [--seed 7]

Writes N lines of JSON, line i = the attributes of row i, e.g.

    {"category": "c0013", "price": 41.07, "in_stock": true, "tags": ["t02", "t31"]}

  category  one of 1,000 strings "c0000".."c0999", Zipf-like: P(c_r) ∝ 1/(r+1)^1.1, so
            "c0000" is the commonest (≈ 18 % of rows) and the rarest hold ≈ 0.009 % each
  price     uniform over the cents 0.00..99.99 (a float with at most 2 decimals)
  in_stock  true with probability 0.7
  tags      1–4 distinct strings (count uniform) of 100 "t00".."t99", drawn without
            replacement with weights ∝ 1/(r+1)^1.0 ("t00" the commonest)

The output depends only on N and --seed (numpy's PCG64 generator). filters.py imports
generate() and read_jsonl() from here; the JSON-lines file is what `hashidx build
--attributes` reads.
"""
import argparse, json, sys

import numpy as np

CATEGORIES = 1000
CATEGORY_EXPONENT = 1.1
TAGS = 100
TAG_EXPONENT = 1.0
MAX_TAGS = 4
IN_STOCK = 0.7


def category_name(i):
    return f"c{i:04d}"


def tag_name(i):
    return f"t{i:02d}"


def zipf_weights(count, exponent):
    w = 1.0 / np.arange(1, count + 1, dtype=np.float64) ** exponent
    return w / w.sum()


def generate(n, seed=7):
    """The attribute columns of n rows: category (int codes), price (float64, whole cents),
    in_stock (bool), tags (n × TAGS bool matrix) and tag_lists (per row, the tag codes in
    drawing order, as written to JSON)."""
    rng = np.random.default_rng(seed)
    category = rng.choice(CATEGORIES, size=n, p=zipf_weights(CATEGORIES, CATEGORY_EXPONENT))
    price = rng.integers(0, 100 * 100, size=n) / 100.0
    in_stock = rng.random(n) < IN_STOCK
    counts = rng.integers(1, MAX_TAGS + 1, size=n)
    # Weighted sampling without replacement by Gumbel-top-k: the MAX_TAGS largest
    # log(weight) + Gumbel keys of each row, in decreasing order, are a draw of MAX_TAGS
    # distinct tags; each row keeps the first `count` of them.
    logw = np.log(zipf_weights(TAGS, TAG_EXPONENT))
    tag_lists = np.empty((n, MAX_TAGS), dtype=np.int16)
    block = 1 << 16
    for s in range(0, n, block):
        keys = logw + rng.gumbel(size=(min(block, n - s), TAGS))
        top = np.argpartition(-keys, MAX_TAGS - 1, axis=1)[:, :MAX_TAGS]
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        tag_lists[s:s + len(top)] = np.take_along_axis(top, order, axis=1)
    tags = np.zeros((n, TAGS), dtype=bool)
    rows = np.repeat(np.arange(n), counts)
    cols = tag_lists[np.arange(MAX_TAGS)[None, :] < counts[:, None]]
    tags[rows, cols] = True
    lists = [row[:c].tolist() for row, c in zip(tag_lists, counts)]
    return {"category": category, "price": price, "in_stock": in_stock, "tags": tags, "tag_lists": lists}


def write_jsonl(cols, path):
    """Writes generate()'s columns as JSON lines."""
    cat = [category_name(i) for i in range(CATEGORIES)]
    tag = [tag_name(i) for i in range(TAGS)]
    with open(path, "w") as f:
        for c, p, s, ts in zip(cols["category"].tolist(), cols["price"].tolist(), cols["in_stock"].tolist(),
                               cols["tag_lists"]):
            f.write(json.dumps({"category": cat[c], "price": p, "in_stock": s, "tags": [tag[t] for t in ts]}))
            f.write("\n")


def read_jsonl(path):
    """The columns of a file written by write_jsonl (category, price, in_stock, tags as in
    generate(); no tag_lists)."""
    category, price, in_stock, tag_rows, tag_cols = [], [], [], [], []
    with open(path) as f:
        for i, line in enumerate(f):
            o = json.loads(line)
            category.append(int(o["category"][1:]))
            price.append(o["price"])
            in_stock.append(o["in_stock"])
            for t in o["tags"]:
                tag_rows.append(i); tag_cols.append(int(t[1:]))
    n = len(category)
    tags = np.zeros((n, TAGS), dtype=bool)
    tags[np.array(tag_rows, dtype=np.int64), np.array(tag_cols, dtype=np.int64)] = True
    return {"category": np.array(category, dtype=np.int64), "price": np.array(price, dtype=np.float64),
            "in_stock": np.array(in_stock, dtype=bool), "tags": tags}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="rows")
    ap.add_argument("out", help="output .jsonl")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if a.n <= 0:
        sys.exit("N must be positive")
    write_jsonl(generate(a.n, a.seed), a.out)
    print(f"wrote {a.n:,} rows of attributes to {a.out} (seed {a.seed})", file=sys.stderr)


if __name__ == "__main__":
    main()
