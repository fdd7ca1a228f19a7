"""Candidate quality of hashidx's codes against residual (IVF-RaBitQ-style) codes, at equal bits.

    python3 Benchmarks/residual/residual.py DATA_NAME PROBES BITS [QUERIES]

DATA_NAME is a folder under /work/data (override with HASHIDX_DATA) holding base.npy,
queries.npy and gt.npy (../shared/datasets/glove50.py or fashion.py). numpy only.

Partitions: spherical k-means (2 sqrt(n) lists, 64 sampled rows per list, as hashidx). For
every query the PROBES nearest lists are scanned and every row in them scored by each
scheme's estimator; the number printed for C is candidate recall: the share of the true
top-10 among the C best estimates (what an exact re-rank of C candidates can reach).

  today       hashidx's codes: global mean-centring, PCA + ITQ (bits <= dim) or a random
              tight frame (bits > dim); "est" = the asymmetric score sum_j y_j sign_j with the
              query's unquantised margins y (hashidx quantises them to 4 bit planes), "ham" =
              plain Hamming distance.
  res-random  RaBitQ: codes of the normalised residual x - c (c the row's centroid) under a
              random orthonormal frame; estimate <q,x> = <q,c> + |x-c| <Wq,s>/<Wr,s>, with
              the per-row factors |x-c| and <Wr,s> = |Wr|_1 stored. "bound-rerank": re-rank
              in order of the estimate's upper bound (eps0 = 1.9) until the k-th exact score
              beats the next bound (RaBitQ's adaptive re-rank): recall and rows re-ranked.
  res-itq     the same estimator with a learned frame: PCA + ITQ trained on residuals.
"""
import os
import sys, numpy as np, time
rng = np.random.default_rng(7)
DATA = os.environ.get('HASHIDX_DATA', '/work/data')
name, P, bits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
nq = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
X = np.load(f'{DATA}/{name}/base.npy').astype(np.float32)
Q = np.load(f'{DATA}/{name}/queries.npy')[:nq].astype(np.float32)
GT = np.load(f'{DATA}/{name}/gt.npy')[:nq, :10]
X /= np.linalg.norm(X, axis=1, keepdims=True); Q /= np.linalg.norm(Q, axis=1, keepdims=True)
n, d = X.shape
L = min(int(2 * np.sqrt(n)), 3125)

# spherical k-means on 64 rows / partition
S = X[rng.choice(n, min(n, 64 * L), replace=False)]
C = S[rng.choice(len(S), L, replace=False)].copy()
for it in range(12):
    a = np.argmax(S @ C.T, axis=1)
    for j in range(L):
        m = S[a == j]
        if len(m): C[j] = m.sum(0)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
assign = np.concatenate([np.argmax(X[i:i+50000] @ C.T, axis=1) for i in range(0, n, 50000)])
lists = [np.nonzero(assign == j)[0] for j in range(L)]
print(f'{name}: n={n} d={d} L={L} P={P} bits={bits}')

def random_frame(b, d):
    blocks = []
    left = b
    while left > 0:
        g = rng.standard_normal((d, d)); qm, _ = np.linalg.qr(g)
        blocks.append(qm[:min(left, d)]); left -= d
    return np.vstack(blocks).astype(np.float32)   # b x d, rows orthonormal within blocks

def pca_itq(Z, b, iters=50):
    mu = Z.mean(0); Zc = Z - mu
    w, v = np.linalg.eigh(Zc.T @ Zc)
    Pc = v[:, ::-1][:, :b].T           # b x d
    V = Zc @ Pc.T
    R, _ = np.linalg.qr(rng.standard_normal((b, b)))
    for _ in range(iters):
        B = np.sign(V @ R)
        u, s, vt = np.linalg.svd(B.T @ V)
        R = (u @ vt).T
    return (R.T @ Pc).astype(np.float32), mu

def itq_on(Z, b, iters=50):
    """ITQ rotation without PCA truncation when b == d; PCA+ITQ when b < d; frame when b > d"""
    if b <= Z.shape[1]:
        W, _ = pca_itq(Z, b, iters)
        return W
    return random_frame(b, Z.shape[1])

sample = rng.choice(n, min(n, 20000), replace=False)
R_res = X[sample] - C[assign[sample]]
R_res /= np.linalg.norm(R_res, axis=1, keepdims=True) + 1e-12

# models
models = {}
# (A) today: global mean centring, PCA+ITQ (bits<=d) or random frame
if bits <= d:
    Wa, mu = pca_itq(X[sample], bits)
else:
    mu = X[sample].mean(0); Wa = random_frame(bits, d)
models['today'] = ('global', Wa, mu)
models['res-random'] = ('residual', random_frame(bits, d), None)
models['res-itq'] = ('residual', itq_on(R_res, bits), None)

res = X - C[assign]
rnorm = np.linalg.norm(res, axis=1)
rhat = res / (rnorm[:, None] + 1e-12)
for key, (kind, W, mu) in models.items():
    t = time.time()
    if kind == 'global':
        proj = (X - mu) @ W.T
    else:
        proj = rhat @ W.T
    sg = np.sign(proj).astype(np.float32); sg[sg == 0] = 1
    # per-item correction <W r, sign(W r)> (= ||W r||_1)
    corr = np.abs(proj).sum(1) + 1e-9
    Cs = [10, 20, 50, 100, 200, 400]
    rec = {c: 0 for c in Cs}; rec_h = {c: 0 for c in Cs}
    bound_counts = []; bound_rec = 0
    for qi in range(nq):
        q = Q[qi]
        cs = C @ q
        probe = np.argpartition(-cs, P)[:P]
        rows = np.concatenate([lists[j] for j in probe])
        gt = set(GT[qi].tolist())
        if kind == 'global':
            y = W @ (q - mu)
            est = sg[rows] @ y       # asymmetric (monotone in <q,x> estimate, no corr)
            ham = -(sg[rows] @ np.sign(y))
        else:
            y = W @ q
            est = cs[assign[rows]] + rnorm[rows] * (sg[rows] @ y) / corr[rows]
            ham = est  # not applicable
        order = np.argsort(-est)
        for c in Cs:
            rec[c] += len(gt & set(rows[order[:c]].tolist()))
        if kind == 'global':
            oh = np.argsort(ham, kind='stable')
            for c in Cs:
                rec_h[c] += len(gt & set(rows[oh[:c]].tolist()))
        elif kind == 'residual':
            # error bound: |<q,r̂> - est| <= eps * sqrt((1-a^2)/a^2) / sqrt(bits-1) * ||Wq||-ish
            a = corr[rows] / np.sqrt(bits) / np.linalg.norm(proj[rows], axis=1)
            eps = 1.9
            bound = rnorm[rows] * eps * np.sqrt(np.maximum(1 - a * a, 0) / (a * a)) / np.sqrt(bits - 1) * np.linalg.norm(y) / np.sqrt(max(1, bits / d))
            # re-rank in order of upper bound until the k-th exact beats the next upper bound
            ub = est + bound
            oo = np.argsort(-ub)
            exact = X[rows] @ q
            top = []
            cnt = 0
            import heapq
            h = []
            for i in oo:
                if len(h) == 10 and ub[i] <= h[0][0]: break
                cnt += 1
                if len(h) < 10: heapq.heappush(h, (exact[i], rows[i]))
                elif exact[i] > h[0][0]: heapq.heapreplace(h, (exact[i], rows[i]))
            bound_counts.append(cnt)
            bound_rec += len(gt & {r for _, r in h})
    line = ' '.join(f'C{c}:{rec[c]/nq/10:.4f}' for c in Cs)
    print(f'{key:11s} est  {line}   ({time.time()-t:.0f}s)')
    if kind == 'global':
        print(f'{key:11s} ham  ' + ' '.join(f'C{c}:{rec_h[c]/nq/10:.4f}' for c in Cs))
    elif kind == 'residual':
        print(f'{key:11s} bound-rerank recall {bound_rec/nq/10:.4f} mean reranked {np.mean(bound_counts):.0f} p99 {np.percentile(bound_counts,99):.0f}')
# ceiling
ceil = 0
for qi in range(nq):
    cs = C @ Q[qi]; probe = set(np.argpartition(-cs, P)[:P].tolist())
    ceil += sum(1 for g in GT[qi] if assign[g] in probe)
print(f'probe ceiling {ceil/nq/10:.4f}')
