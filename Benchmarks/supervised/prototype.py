#!/usr/bin/env python3
"""Numpy prototype of hashidx's supervised hashing head (issue 14), used to pick the recipe.

    python3 Benchmarks/supervised/prototype.py DATA_DIR [--bits 32,64,128,256] [--experiments ...]

DATA_DIR holds base.npy, queries.npy, base_labels.npy, query_labels.npy, gt.npy
(Fashion-MNIST from ../shared/datasets/fashion.py). Everything here is numpy only.

Model (the same form as hashidx's unsupervised hash): x = row/|row|, mu = mean of the unit
training rows, margins h = W (x - mu), bit j = [h_j > 0]. W is bits x d.

  * unsupervised W0: PCA (top-`bits` eigenvectors of the covariance of the centred unit rows)
    then ITQ (50 iterations, random orthogonal start, 20,000 rows), W0 = (P R)^T.
  * CCA-ITQ (Gong & Lazebnik): canonical directions of X against one-hot labels scaled by their
    canonical correlations, then ITQ. One-hot labels of c classes give c-1 useful directions;
    beyond them the projection is padded with PCA directions (see cca_itq()).
  * supervised: W = s0 W0 (s0 makes the margins unit-RMS), then mini-batch Adam on
    L = s L_sup + (1 - s) L_geo, see train(). The chosen recipe is RECIPE: in-batch DPSH from the
    labels + the "distil" geometry term (code inner products of the initial head), s = 0.2,
    batch 256, lr 1e-2 cosine-decayed, recipe_epochs(bits) epochs over all rows. It was picked
    over CSQ (Hadamard centres), a softmax over the centres, and the angle / anchor geometry terms,
    which train() also implements.

Without arguments beyond DATA_DIR it prints the full table (unsupervised, CCA-ITQ, supervised x
all classes / unseen classes x rankings; about 30 minutes on 2 cores).

Measures (2,000 queries, the first of queries.npy unless a protocol restricts them): mAP@1000 with
same-label relevance (DeepHash convention), P@10 (same-label precision of the top 10) and R@10
(overlap of the top 10 with the exact cosine top 10), for the rankings
  hamming  Hamming distance of the codes, ties by row
  cosine   Hamming top-1000 candidates re-sorted by exact cosine (what hashidx does today)
  learned  the same candidates re-sorted by <tanh(h_q), b_i>
  blend    the same candidates re-sorted by a cos + (1 - a) <tanh(h_q), b_i> / sum|tanh(h_q)|
"""
import argparse, json, sys, time
import numpy as np

RNG = np.random.default_rng


# ---------------------------------------------------------------- data

def load(data, nq=2000):
    X = np.load(f"{data}/base.npy").astype(np.float32)
    Q = np.load(f"{data}/queries.npy").astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    y = np.load(f"{data}/base_labels.npy").astype(np.int64)
    yq = np.load(f"{data}/query_labels.npy").astype(np.int64)
    gt = np.load(f"{data}/gt.npy")
    return X, Q, y, yq, gt


def exact_gt(Q, X, k=100):
    out = np.empty((len(Q), k), dtype=np.int64)
    for s in range(0, len(Q), 500):
        S = Q[s:s + 500] @ X.T
        p = np.argpartition(-S, k, axis=1)[:, :k]
        o = np.argsort(-np.take_along_axis(S, p, 1), axis=1, kind="stable")
        out[s:s + 500] = np.take_along_axis(p, o, 1)
    return out


# ---------------------------------------------------------------- unsupervised and CCA

def itq(V, iters=50, seed=0):
    b = V.shape[1]
    R, _ = np.linalg.qr(RNG(seed).standard_normal((b, b)))
    for _ in range(iters):
        B = np.sign(V @ R)
        B[B == 0] = 1
        U, _, Vt = np.linalg.svd(B.T @ V)
        R = (U @ Vt).T
    return R.astype(np.float32)


def pca(Xc, bits):
    C = (Xc.T.astype(np.float64) @ Xc) / len(Xc)
    w, E = np.linalg.eigh(C)
    o = np.argsort(-w)
    return E[:, o[:bits]].astype(np.float32), w[o]


def pca_itq(X, bits, seed=0, itq_rows=20000):
    mu = X.mean(0)
    Xc = X - mu
    P, _ = pca(Xc, bits)
    rows = RNG(seed).choice(len(X), min(itq_rows, len(X)), replace=False)
    R = itq(Xc[rows] @ P, seed=seed)
    return (P @ R).T.copy(), mu


def cca_itq(X, y, bits, seed=0, reg=1e-4, itq_rows=20000):
    """CCA-ITQ. Directions a_k solve Cxy Cyy^-1 Cyx a = rho^2 Cxx a (regularised Cxx + reg*tr/d I);
    the projection is rho_k * a_k^T (x - mu) (unit-variance canonical variates scaled by their
    correlation, as in the paper). With c classes only c-1 correlations are non-zero; the
    remaining bits - (c-1) columns are the top PCA directions of the residual of X after removing
    the canonical subspace, each scaled to unit variance times rho_min/2 (so they come after the
    canonical variates in weight, and ITQ mixes them in)."""
    mu = X.mean(0)
    Xc = (X - mu).astype(np.float64)
    n, d = Xc.shape
    classes = np.unique(y[y >= 0])
    lab = y >= 0
    Y = (y[lab, None] == classes[None, :]).astype(np.float64)
    Y -= Y.mean(0)
    Cxx = Xc.T @ Xc / n
    Cxx += reg * np.trace(Cxx) / d * np.eye(d)
    Cxy = Xc[lab].T @ Y / lab.sum()
    Cyy = Y.T @ Y / lab.sum() + 1e-6 * np.eye(len(classes))
    wx, Ex = np.linalg.eigh(Cxx)
    Wx = Ex @ np.diag(wx ** -0.5) @ Ex.T            # Cxx^-1/2
    wy, Ey = np.linalg.eigh(Cyy)
    Wy = Ey @ np.diag(wy ** -0.5) @ Ey.T
    U, rho, _ = np.linalg.svd(Wx @ Cxy @ Wy, full_matrices=False)
    m = len(classes) - 1
    A = (Wx @ U[:, :m]) * rho[:m]                      # d x m
    if bits > m:
        # residual PCA: remove the canonical variates' span from X
        Z = Xc @ (Wx @ U[:, :m])                       # unit-variance canonical variates
        coef = np.linalg.lstsq(Z, Xc, rcond=None)[0]
        Xr = Xc - Z @ coef
        Pr, w = pca(Xr.astype(np.float32), bits - m)
        Pr = Pr.astype(np.float64) / np.sqrt(w[:bits - m]) * (rho[m - 1] / 2)
        A = np.concatenate([A, Pr], 1)
    else:
        A = A[:, :bits]
    A = A.astype(np.float32)
    rows = RNG(seed).choice(n, min(itq_rows, n), replace=False)
    R = itq((Xc[rows] @ A).astype(np.float32), seed=seed)
    return (A @ R).T.copy(), mu, rho[:m]


# ---------------------------------------------------------------- training

def hadamard(n):
    H = np.ones((1, 1), dtype=np.float32)
    while len(H) < n:
        H = np.block([[H, H], [H, -H]])
    return H


def centres(num_classes, bits, seed=0):
    """Hash centres: rows of the bits x bits Hadamard matrix (bits a power of two) and their
    negatives, the first num_classes of them in order; when 2*bits < num_classes (or bits not a
    power of two), random balanced +-1 vectors (half +1 per row, seeded)."""
    if bits & (bits - 1) == 0 and num_classes <= 2 * bits:
        H = hadamard(bits)
        return np.concatenate([H, -H])[:num_classes].copy()
    r = RNG(seed)
    C = np.empty((num_classes, bits), dtype=np.float32)
    for k in range(num_classes):
        v = np.array([1] * (bits // 2) + [-1] * (bits - bits // 2), dtype=np.float32)
        C[k] = r.permutation(v)
    return C


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def geo_target(Xb):
    """1 - 2 arccos(cos)/pi between the centred rows of the batch (Xb already centred)."""
    Z = Xb / np.maximum(np.linalg.norm(Xb, axis=1, keepdims=True), 1e-12)
    G = np.clip(Z @ Z.T, -1, 1)
    return 1 - 2 * np.arccos(G) / np.pi


def sup_loss(kind, H, U, yb, Cent, q=0.1, gamma=None):
    """Returns (loss, dL/dH) for the labelled rows (yb >= 0). kinds: csq, softmax, dpsh."""
    B, bits = H.shape
    lab = yb >= 0
    nl = int(lab.sum())
    dH = np.zeros_like(H)
    if nl == 0:
        return 0.0, dH
    Hl, Ul, yl = H[lab], U[lab], yb[lab]
    if kind == "csq":
        T = (Cent[yl] + 1) / 2
        z = 2 * Hl
        loss = float((softplus(z) - T * z).mean())
        g = 2 * (sigmoid(z) - T) / (nl * bits)
        a = np.abs(Ul)
        loss += q * float(((a - 1) ** 2).mean())
        g += q * 2 * (a - 1) * np.sign(Ul) * (1 - Ul * Ul) / (nl * bits)
    elif kind == "softmax":
        gamma = gamma or 4 * np.sqrt(bits)
        L = gamma * (Ul @ Cent.T) / bits
        L -= L.max(1, keepdims=True)
        P = np.exp(L)
        P /= P.sum(1, keepdims=True)
        loss = float(-np.log(P[np.arange(nl), yl] + 1e-12).mean())
        Y = np.zeros_like(P)
        Y[np.arange(nl), yl] = 1
        gU = gamma * ((P - Y) @ Cent) / bits / nl
        a = np.abs(Ul)
        loss += q * float(((a - 1) ** 2).mean())
        gU += q * 2 * (a - 1) * np.sign(Ul) / (nl * bits)
        g = gU * (1 - Ul * Ul)
    elif kind == "dpsh":
        S = (yl[:, None] == yl[None, :]).astype(np.float32)
        scale = 16.0 / bits   # Theta = 1/2 <u_i,u_j> * 16/bits keeps the logits in +-8
        Th = 0.5 * scale * (Ul @ Ul.T)
        loss = float((softplus(Th) - S * Th).mean())
        D = (sigmoid(Th) - S) / (nl * nl)
        gU = 0.5 * scale * (D + D.T) @ Ul
        a = np.abs(Ul)
        loss += q * float(((a - 1) ** 2).mean())
        gU += q * 2 * (a - 1) * np.sign(Ul) / (nl * bits)
        g = gU * (1 - Ul * Ul)
    else:
        raise ValueError(kind)
    dH[lab] = g
    return loss, dH


def pair_loss(Ua, Ub, s, bits):
    """DPSH on given pairs: Theta = 1/2 <u_a,u_b> * 16/bits."""
    scale = 16.0 / bits
    Th = 0.5 * scale * (Ua * Ub).sum(1)
    loss = float((softplus(Th) - s * Th).mean())
    D = ((sigmoid(Th) - s) / len(s))[:, None] * 0.5 * scale
    return loss, D * Ub, D * Ua


def geo_loss(kind, H, U, Xb, H0, geo_rows=None):
    """Returns (loss, dL/dH). pair: (<u_i,u_j>/bits - (1 - 2 angle/pi))^2 over the batch pairs
    (the first geo_rows rows of the batch); distil: the same with the target <u0_i,u0_j>/bits
    of the initial head u0 = tanh(s0 W0 x); anchor: ||h - h0||^2 / bits."""
    B, bits = H.shape
    dH = np.zeros_like(H)
    if kind in ("pair", "distil"):
        m = min(geo_rows or B, B)
        Um = U[:m]
        if kind == "pair":
            T = geo_target(Xb[:m])
        else:
            U0 = np.tanh(H0[:m])
            T = U0 @ U0.T / bits
        D = Um @ Um.T / bits - T
        np.fill_diagonal(D, 0)
        loss = float((D * D).sum() / (m * (m - 1)))
        gU = 4 * (D @ Um) / (bits * m * (m - 1))
        dH[:m] = gU * (1 - Um * Um)
    elif kind == "anchor":
        E = H - H0
        loss = float((E * E).mean())
        dH = 2 * E / (B * bits)
    elif kind == "none":
        loss = 0.0
    else:
        raise ValueError(kind)
    return loss, dH


class Adam:
    def __init__(self, W, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.m = np.zeros_like(W)
        self.v = np.zeros_like(W)
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0

    def step(self, W, g, lr=None):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        mh = self.m / (1 - self.b1 ** self.t)
        vh = self.v / (1 - self.b2 ** self.t)
        W -= (lr or self.lr) * mh / (np.sqrt(vh) + self.eps)


def train(X, y, W0, mu, *, sup="csq", geo="pair", s=0.5, epochs=10, batch=256, lr=1e-3,
          sample=None, q=0.1, seed=0, geo_rows=None, unlabelled="geo", pairs=None,
          init_scale=True, cosine_lr=True, verbose=False):
    """Mini-batch Adam on L = s L_sup + (1-s) L_geo. W starts at s0*W0 with s0 = 1/RMS(margins)
    so that tanh(h) starts in its working range (codes unchanged). unlabelled='geo': unlabelled
    rows (y < 0) take part in the geometry term only; 'drop': they are left out of training.
    pairs: (a, b, s) arrays -> DPSH pair loss instead of labels; batches are `batch` pairs and the
    geometry term runs over the pair rows. Learning rate cosine-decays to 0 when cosine_lr."""
    r = RNG(seed)
    n = len(X)
    rows = np.arange(n)
    if unlabelled == "drop" and pairs is None:
        rows = rows[y >= 0]
    if sample and sample < len(rows):
        rows = r.choice(rows, sample, replace=False)
    Xc = (X[rows] - mu).astype(np.float32)
    ys = y[rows] if y is not None else None
    H0all = Xc @ W0.T
    s0 = 1.0 / np.sqrt((H0all ** 2).mean()) if init_scale else 1.0
    W = (W0 * s0).astype(np.float32)
    W0s = W.copy()
    H0all *= s0
    bits = W.shape[0]
    num_classes = int(y.max()) + 1 if y is not None else 0
    Cent = centres(max(num_classes, 2), bits, seed)
    opt = Adam(W, lr)
    if pairs is not None:
        pa, pb, ps = pairs
        steps_per_epoch = (len(pa) + batch - 1) // batch
    else:
        steps_per_epoch = (len(rows) + batch - 1) // batch
    total = epochs * steps_per_epoch
    t = 0
    for ep in range(epochs):
        ls = lg = 0.0
        if pairs is not None:
            perm = r.permutation(len(pa))
            for st in range(steps_per_epoch):
                idx = perm[st * batch:(st + 1) * batch]
                a, b, sv = pa[idx], pb[idx], ps[idx].astype(np.float32)
                Xa, Xb_ = X[a] - mu, X[b] - mu
                Ha, Hb = Xa @ W.T, Xb_ @ W.T
                Ua, Ub = np.tanh(Ha), np.tanh(Hb)
                l1, gUa, gUb = pair_loss(Ua, Ub, sv, bits)
                l1 += q * float(((np.abs(Ua) - 1) ** 2).mean() + ((np.abs(Ub) - 1) ** 2).mean()) / 2
                gUa = gUa + q * (np.abs(Ua) - 1) * np.sign(Ua) / Ua.size
                gUb = gUb + q * (np.abs(Ub) - 1) * np.sign(Ub) / Ub.size
                Hc = np.concatenate([Ha, Hb])
                Uc = np.concatenate([Ua, Ub])
                Xcat = np.concatenate([Xa, Xb_])
                H0c = Xcat[:geo_rows or batch] @ W0s.T if geo == "distil" else None
                l2, dG = geo_loss(geo, Hc, Uc, Xcat, H0c, geo_rows or batch)
                dH = (1 - s) * dG
                dH[:len(a)] += s * gUa * (1 - Ua * Ua)
                dH[len(a):] += s * gUb * (1 - Ub * Ub)
                g = dH.T @ Xcat
                lr_t = lr * 0.5 * (1 + np.cos(np.pi * t / total)) if cosine_lr else lr
                opt.step(W, g, lr_t)
                t += 1
                ls += l1; lg += l2
        else:
            perm = r.permutation(len(rows))
            for st in range(steps_per_epoch):
                idx = perm[st * batch:(st + 1) * batch]
                Xb = Xc[idx]
                H = Xb @ W.T
                U = np.tanh(H)
                l1, d1 = sup_loss(sup, H, U, ys[idx], Cent, q=q)
                l2, d2 = geo_loss(geo, H, U, Xb, H0all[idx], geo_rows)
                dH = s * d1 + (1 - s) * d2
                g = dH.T @ Xb
                lr_t = lr * 0.5 * (1 + np.cos(np.pi * t / total)) if cosine_lr else lr
                opt.step(W, g, lr_t)
                t += 1
                ls += l1; lg += l2
        if verbose:
            print(f"    epoch {ep}: sup {ls / steps_per_epoch:.4f} geo {lg / steps_per_epoch:.4f}", file=sys.stderr)
    return W


# ---------------------------------------------------------------- evaluation

def topk_hamming(Bq, Bx, k):
    """Top-k rows by Hamming distance, ties by row. Bq, Bx: +-1 float32."""
    n, bits = Bx.shape
    out = np.empty((len(Bq), k), dtype=np.int64)
    rowkey = np.arange(n, dtype=np.int64)
    for s in range(0, len(Bq), 250):
        D = ((bits - Bq[s:s + 250] @ Bx.T) / 2).astype(np.int64)
        key = D * n + rowkey
        p = np.argpartition(key, k, axis=1)[:, :k]
        o = np.argsort(np.take_along_axis(key, p, 1), axis=1)
        out[s:s + 250] = np.take_along_axis(p, o, 1)
    return out


def rerank(cand, score):
    o = np.argsort(-score, axis=1, kind="stable")
    return np.take_along_axis(cand, o, 1)


def mean_ap(R, rel_labels, yq):
    rel = (rel_labels[R] == yq[:, None]).astype(np.float64)
    cum = np.cumsum(rel, 1)
    prec = cum / np.arange(1, R.shape[1] + 1)
    nrel = rel.sum(1)
    ap = np.where(nrel > 0, (prec * rel).sum(1) / np.maximum(nrel, 1), 0.0)
    return float(ap.mean())


def measures(R, y, yq, gt10):
    p10 = float((y[R[:, :10]] == yq[:, None]).mean())
    r10 = float(np.mean([len(np.intersect1d(R[i, :10], gt10[i])) / 10 for i in range(len(R))]))
    return {"map": mean_ap(R, y, yq), "p10": p10, "r10": r10}


def evaluate(W, mu, X, Q, y, yq, gt10, C=1000, blend=(0.5,), modes=("hamming", "cosine", "learned", "blend")):
    """X: base rows to search (unit), Q: queries (unit). Returns {mode: measures}."""
    Hx = (X - mu) @ W.T
    Hq = (Q - mu) @ W.T
    Bx = np.where(Hx > 0, 1, -1).astype(np.float32)
    Bq = np.where(Hq > 0, 1, -1).astype(np.float32)
    cand = topk_hamming(Bq, Bx, C)
    out = {}
    if "hamming" in modes:
        out["hamming"] = measures(cand, y, yq, gt10)
    cos = np.empty(cand.shape, dtype=np.float32)
    learned = np.empty(cand.shape, dtype=np.float32)
    Tq = np.tanh(Hq)
    Tq /= np.abs(Tq).sum(1, keepdims=True)
    for s in range(0, len(Q), 250):
        c = cand[s:s + 250]
        cos[s:s + 250] = np.take_along_axis(Q[s:s + 250] @ X.T, c, 1)
        learned[s:s + 250] = np.take_along_axis(Tq[s:s + 250] @ Bx.T, c, 1)
    if "cosine" in modes:
        out["cosine"] = measures(rerank(cand, cos), y, yq, gt10)
    if "learned" in modes:
        out["learned"] = measures(rerank(cand, learned), y, yq, gt10)
    if "blend" in modes:
        for a in blend:
            out[f"blend{a:g}" if len(blend) > 1 else "blend"] = measures(rerank(cand, a * cos + (1 - a) * learned), y, yq, gt10)
    return out


# ---------------------------------------------------------------- driver

RECIPE = dict(sup="dpsh", geo="distil", s=0.2, lr=1e-2, batch=256, geo_rows=128, q=0.1)


def fmt(res):
    """mode: mAP/P@10/R@10 for each ranking of an evaluate() result."""
    return "  ".join(f"{m}: {v['map']:.3f}/{v['p10']:.3f}/{v['r10']:.3f}" for m, v in res.items())


def recipe_epochs(bits):
    """20 epochs up to 128 bits, 2560/bits above (10 at 256): about the unsupervised build's time."""
    return min(20, max(1, 2560 // bits))


def sample_pairs(y, count=200_000, similar=0.5, seed=0):
    """Pairs (a, b, same) drawn from labels: `similar` of them within a class."""
    r = RNG(seed)
    ns = int(count * similar)
    a = r.integers(0, len(y), count)
    b = r.integers(0, len(y), count)
    by = [np.where(y == c)[0] for c in range(int(y.max()) + 1)]
    b[:ns] = [by[y[i]][r.integers(0, len(by[y[i]]))] for i in a[:ns]]
    return a, b, (y[a] == y[b]).astype(np.float32)


def table(X, Q, y, yq, gt, bits_list, blend, out, pairs=True, only=None):
    """Every row of the helper's report: bits x method x protocol x rerank."""
    Q2, yq2, gt10 = Q[:2000], yq[:2000], gt[:2000, :10]
    keep = np.where(y >= 5)[0]
    qk = np.where(yq >= 5)[0][:2000]
    Xk, yk, Qk, yqk = X[keep], y[keep], Q[qk], yq[qk]
    gtk = exact_gt(Qk, Xk, 10)
    y5 = np.where(y < 5, y, -1)
    rows = []

    def add(bits, method, protocol, res, secs=None):
        for mode, v in res.items():
            rows.append(dict(bits=bits, method=method, protocol=protocol, rerank=mode, train_s=secs, **v))
            print(f"| {bits} | {method} | {protocol} | {mode} | {v['map']:.3f} | {v['p10']:.3f} | {v['r10']:.3f} | "
                  f"{'' if secs is None else f'{secs:.1f}'} |", flush=True)
        json.dump(rows, open(out, "w"), indent=1)

    for bits in bits_list:
        ep = recipe_epochs(bits)
        W0, mu = pca_itq(X, bits)
        if only == "pairs":
            t = time.time()
            pe = max(1, round(ep * len(X) / 400_000))
            W = train(X, y, W0, mu, epochs=pe, pairs=sample_pairs(y), **RECIPE); secs = time.time() - t
            add(bits, f"supervised pairs 200k ({pe} ep)", "all", evaluate(W, mu, X, Q2, y, yq2, gt10, blend=blend), secs)
            continue
        add(bits, "unsupervised PCA-ITQ", "all", evaluate(W0, mu, X, Q2, y, yq2, gt10, blend=blend))
        add(bits, "unsupervised PCA-ITQ", "unseen", evaluate(W0, mu, Xk, Qk, yk, yqk, gtk, blend=blend))
        Wc, muc, _ = cca_itq(X, y, bits)
        add(bits, "CCA-ITQ", "all", evaluate(Wc, muc, X, Q2, y, yq2, gt10, blend=blend))
        Wc, muc, _ = cca_itq(X, y5, bits)
        add(bits, "CCA-ITQ", "unseen", evaluate(Wc, muc, Xk, Qk, yk, yqk, gtk, blend=blend))
        t = time.time(); W = train(X, y, W0, mu, epochs=ep, **RECIPE); secs = time.time() - t
        add(bits, f"supervised ({ep} ep)", "all", evaluate(W, mu, X, Q2, y, yq2, gt10, blend=blend), secs)
        t = time.time(); W = train(X, y5, W0, mu, epochs=ep, **RECIPE); secs = time.time() - t
        add(bits, f"supervised ({ep} ep)", "unseen", evaluate(W, mu, Xk, Qk, yk, yqk, gtk, blend=blend), secs)
        if bits == 64 and pairs:
            # 200k pairs = 400k rows an epoch: scale the epochs to the rows the label path sees
            pe = max(1, round(ep * len(X) / 400_000))
            t = time.time()
            W = train(X, y, W0, mu, epochs=pe, pairs=sample_pairs(y), **RECIPE); secs = time.time() - t
            add(bits, f"supervised pairs 200k ({pe} ep)", "all", evaluate(W, mu, X, Q2, y, yq2, gt10, blend=blend), secs)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("--bits", default="64,128,256,32")
    ap.add_argument("--blend", default="0.3,0.5,0.7", help="cosine weights a of the blend rankings")
    ap.add_argument("--json", default="/tmp/supervised-prototype.json")
    ap.add_argument("--only", choices=["pairs"], help="only the pairs run (at each --bits)")
    ap.add_argument("--no-pairs", action="store_true")
    a = ap.parse_args()
    X, Q, y, yq, gt = load(a.data)
    print("| bits | method | protocol | rerank | mAP@1000 | P@10 | R@10 | train s (numpy) |")
    print("|---|---|---|---|---|---|---|---|")
    table(X, Q, y, yq, gt, [int(b) for b in a.bits.split(",")],
          tuple(float(b) for b in a.blend.split(",")), a.json, pairs=not a.no_pairs, only=a.only)


if __name__ == "__main__":
    main()
