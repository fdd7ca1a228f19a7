# Issue 24, item 4: would SOAR spilling (each row also in a second list chosen so its residual
# is near-orthogonal to the first) cut the rows scanned for a given recall on GloVe-50?
# Spherical k-means with 1,249 lists (FAISS), 2,000 queries; "recall in lists" is the share of
# the exact top 10 that sit in a probed list. Run: /work/venv/bin/python Benchmarks/scan/soar_simulation.py GLOVE_DIR
# (GLOVE_DIR: what shared/datasets/glove50.py wrote). Results: Benchmarks/results/scan-experiments.md.
import sys
import numpy as np, faiss
D=sys.argv[1] if len(sys.argv)>1 else '/work/data/glove50'
b=np.load(D+'/base.npy').astype('float32'); q=np.load(D+'/queries.npy').astype('float32')[:2000]
gt=np.load(D+'/gt.npy')[:2000,:10]
b/=np.linalg.norm(b,axis=1,keepdims=True)+1e-12; q/=np.linalg.norm(q,axis=1,keepdims=True)+1e-12
n,d=b.shape; L=1249
km=faiss.Kmeans(d,L,niter=20,spherical=True,seed=1,max_points_per_centroid=128); km.train(b)
C=km.centroids; C/=np.linalg.norm(C,axis=1,keepdims=True)
idx=faiss.IndexFlatIP(d); idx.add(C)
_,a1=idx.search(b,1); a1=a1[:,0]
# SOAR secondary
_,cand=idx.search(b,32)
r=b-C[a1]; rn=r/ (np.linalg.norm(r,axis=1,keepdims=True)+1e-12)
best=np.empty(n,dtype=np.int64)
for lam in [1.0]:
  for s in range(0,n,50000):
    cc=cand[s:s+50000]; X=b[s:s+50000]; R=rn[s:s+50000]
    D=X[:,None,:]-C[cc]  # (m,32,d)
    cost=(D**2).sum(-1)+lam*np.einsum('mkd,md->mk',D,R)**2
    cost[cc==a1[s:s+50000,None]]=np.inf
    best[s:s+50000]=cc[np.arange(len(cc)),cost.argmin(1)]
# plain second-nearest for comparison
sec=np.where(cand[:,0]==a1,cand[:,1],cand[:,0])
sizes1=np.bincount(a1,minlength=L)
_,probe=idx.search(q,256)
for P in [8,16,32,64,128]:
  pr=probe[:,:P]
  scanned=sizes1[pr].sum(1).mean()
  inl=np.zeros((len(q),L),bool); np.put_along_axis(inl,pr,True,1)
  rows=np.arange(len(q))[:,None]
  r1=inl[rows,a1[gt]].mean()
  rS=(inl[rows,a1[gt]]|inl[rows,best[gt]]).mean()
  rN=(inl[rows,a1[gt]]|inl[rows,sec[gt]]).mean()
  sizes2=sizes1+np.bincount(best,minlength=L)
  scanned2=sizes2[pr].sum(1).mean()
  print(f"P{P}: plain recall-in-lists {r1:.4f} scanned {scanned:.0f} | SOAR {rS:.4f} scanned {scanned2:.0f} | 2nd-nearest spill {rN:.4f}")
