"""Seeded k-means (k-means++ starts, Lloyd's iterations): scikit-learn's ``KMeans(n_clusters, random_state=seed,
n_init=n_init).fit(X)``, without its per-call cost.

Why not ``sklearn.cluster.KMeans`` itself (measured reason): a cold walk-forward of the shipped config starts EM
from 390 seeded k-means runs on a few thousand rows of a handful of features; each ``fit`` took ~5.5 ms (2.1 s of
the cold run's CPU), most of it around the arithmetic: parameter and input validation, a thread-pool context,
and in each of Lloyd's ~30 iterations an OpenMP region with BLAS calls on 256-row chunks. Here the seeding is
the same numpy expressions and Lloyd's iterations one compiled loop: ~2 ms a run (0.8 s of that CPU).

The same algorithm, in the same arithmetic order where it decides anything:
- the data centred by its mean, k-means++ seeding with scikit-learn's draws from ``RandomState(seed)`` and its
  numpy expressions (so the same rows are picked: the seeding *is* the start);
- Lloyd: each row to its nearest centre (first of equals), the centres as the mean of their rows (sums from
  zero in row order: scikit-learn's order on one thread, which is how the EM starts ran it, inside
  ``single_blas_thread``'s limit of every thread pool to one; so the centres, labels and inertia are
  scikit-learn's to the bit there, tests/test_kmeans.py), stopping when no label changes or the centres move by
  less than ``1e-4`` times the mean feature variance; a last assignment when stopped by the tolerance;
- ``n_init`` runs from successive draws of one generator, the lowest inertia kept unless it is the same
  partition.
A run in which a cluster empties (scikit-learn then moves a far row into it) is handed to scikit-learn itself:
rare on real features, and its relocation rule is not worth a second copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

TOL = 1e-4  # scikit-learn's default tolerance, relative to the mean feature variance
MAX_ITER = 300


@dataclass(frozen=True)
class KMeansFit:
    """Centres (n_clusters, n_features) in the data's units, each row's label, the inertia and Lloyd's iterations."""

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


def kmeans(X: np.ndarray, n_clusters: int, seed: int, n_init: int = 1) -> KMeansFit:
    """The best of ``n_init`` seeded k-means++/Lloyd runs on the rows of ``X`` (see the module docstring)."""
    X = np.array(X, dtype=float, order="C")  # a copy: centred below
    if X.ndim != 2 or len(X) < n_clusters or n_clusters < 1 or n_init < 1:
        raise ValueError(f"k-means needs at least n_clusters={n_clusters} rows and n_init >= 1, got {X.shape}, {n_init}")
    if not np.isfinite(X).all():  # as scikit-learn: a start on non-finite rows fails (its EM start is dropped)
        raise ValueError("k-means: the rows contain NaN or infinity")
    mean = X.mean(axis=0)
    X -= mean
    sq_norms = np.einsum("ij,ij->i", X, X)
    tol = float(np.mean(np.var(X, axis=0)) * TOL)
    rng = np.random.RandomState(seed)
    weights = np.ones(len(X))
    best: KMeansFit | None = None
    for _ in range(n_init):
        start = _plusplus(X, n_clusters, sq_norms, weights, rng)
        run = _lloyd_run(X, start, tol)
        if best is None or (run.inertia < best.inertia and not _same_partition(run.labels, best.labels, n_clusters)):
            best = run
    assert best is not None
    return KMeansFit(best.centers + mean, best.labels, best.inertia, best.n_iter)


def _plusplus(X: np.ndarray, k: int, sq_norms: np.ndarray, weights: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ (2 + log k candidates a centre) with scikit-learn's draws and expressions."""
    n = X.shape[0]
    trials = 2 + int(np.log(k))
    centers = np.empty((k, X.shape[1]))
    first = rng.choice(n, p=weights / weights.sum())
    centers[0] = X[first]
    closest = _sq_distances(centers[0, np.newaxis], X, sq_norms)
    pot = closest @ weights
    for c in range(1, k):
        draws = rng.uniform(size=trials) * pot
        ids = np.searchsorted(np.cumsum(weights * closest), draws)
        np.clip(ids, None, closest.size - 1, out=ids)
        to_cands = _sq_distances(X[ids], X, sq_norms)
        np.minimum(closest, to_cands, out=to_cands)
        pots = to_cands @ weights.reshape(-1, 1)
        best = int(np.argmin(pots))
        pot = pots[best]
        closest = to_cands[best]
        centers[c] = X[ids[best]]
    return centers


def _sq_distances(A: np.ndarray, X: np.ndarray, x_sq_norms: np.ndarray) -> np.ndarray:
    """Squared distances of A's rows to X's rows as scikit-learn's k-means++ computes them (|a|^2 - 2a.x + |x|^2,
    clipped at zero)."""
    dist = -2 * (A @ X.T)
    dist += np.einsum("ij,ij->i", A, A)[:, None]
    dist += x_sq_norms.reshape(1, -1)
    return np.maximum(dist, 0, out=dist)


def _lloyd_run(X: np.ndarray, start: np.ndarray, tol: float) -> KMeansFit:
    labels, centers, n_iter, emptied, inertia = _lloyd(X, start, tol, MAX_ITER)
    if emptied:  # a cluster lost every row: scikit-learn's own relocation, from the same start
        return _sklearn_run(X, start)
    return KMeansFit(centers, labels, float(inertia), int(n_iter))


def _sklearn_run(X: np.ndarray, start: np.ndarray) -> KMeansFit:
    from sklearn.cluster import KMeans

    from regimeshift.regimes.threads import single_blas_thread

    with single_blas_thread():  # one thread, as the EM starts run: the sums' order fixed
        km = KMeans(n_clusters=len(start), init=start, n_init=1, max_iter=MAX_ITER, tol=TOL).fit(X)
    return KMeansFit(km.cluster_centers_, np.asarray(km.labels_, dtype=np.int32), float(km.inertia_), int(km.n_iter_))


def _same_partition(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """The same clustering up to a renumbering of the labels."""
    mapping = np.full(k, -1)
    for x, y in zip(a.tolist(), b.tolist()):
        if mapping[x] == -1:
            mapping[x] = y
        elif mapping[x] != y:
            return False
    return True


@njit(cache=True)
def _sq_dist(A: np.ndarray, i: int, B: np.ndarray, j: int) -> float:  # pragma: no cover - compiled
    """Squared distance of row ``i`` of A to row ``j`` of B, in scikit-learn's order: four features at a time,
    then the rest."""
    d = A.shape[1]
    r = 0.0
    q = d // 4
    for g in range(q):
        f = 4 * g
        r += ((A[i, f] - B[j, f]) * (A[i, f] - B[j, f]) + (A[i, f + 1] - B[j, f + 1]) * (A[i, f + 1] - B[j, f + 1])
              + (A[i, f + 2] - B[j, f + 2]) * (A[i, f + 2] - B[j, f + 2])
              + (A[i, f + 3] - B[j, f + 3]) * (A[i, f + 3] - B[j, f + 3]))
    for f in range(4 * q, d):
        r += (A[i, f] - B[j, f]) * (A[i, f] - B[j, f])
    return r


@njit(cache=True)
def _assign(Xt: np.ndarray, centers: np.ndarray, labels: np.ndarray, dist: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each row's nearest centre by |c|^2 - 2 x.c (|x|^2 is common to a row), the first of equals. ``Xt`` is the
    data transposed (features x rows), so each feature's pass runs over contiguous rows (vectorised: the
    row-by-row loop was four times slower, bound by each dot product's chain of additions)."""
    d, n = Xt.shape
    k = centers.shape[0]
    for j in range(k):
        cn = 0.0
        for f in range(d):
            cn += centers[j, f] * centers[j, f]
        for i in range(n):
            dist[j, i] = 0.0
        for f in range(d):
            c = centers[j, f]
            for i in range(n):
                dist[j, i] += Xt[f, i] * c
        for i in range(n):
            dist[j, i] = cn + -2.0 * dist[j, i]
    for i in range(n):
        best = 0
        best_d = dist[0, i]
        for j in range(1, k):
            if dist[j, i] < best_d:
                best, best_d = j, dist[j, i]
        labels[i] = best


@njit(cache=True)
def _lloyd(X: np.ndarray, start: np.ndarray, tol: float, max_iter: int):  # pragma: no cover - compiled
    """Lloyd's iterations from ``start``: (labels, centres, iterations, a cluster emptied, inertia). Plain loops only, one
    call of the assignment: every numpy routine used in a compiled function costs numba ~0.3 s to compile, and
    the first version (slice assignments, ``np.full``, a transposed copy, two calls) took 6 s, on a fresh clone's
    first run."""
    n, d = X.shape
    k = start.shape[0]
    centers = np.empty((k, d))
    new = np.empty((k, d))
    sums = np.empty((k, d))
    counts = np.empty(k)
    for j in range(k):
        for f in range(d):
            centers[j, f] = start[j, f]
    Xt = np.empty((d, n))
    dist = np.empty((k, n))
    labels = np.empty(n, dtype=np.int32)
    old = np.empty(n, dtype=np.int32)
    for i in range(n):
        old[i] = -1
        for f in range(d):
            Xt[f, i] = X[i, f]
    it = 0
    stopped = False  # by the tolerance or max_iter: the labels are then recomputed from the last centres
    emptied = False
    while True:
        _assign(Xt, centers, labels, dist)
        if stopped:
            break
        it += 1
        for j in range(k):
            counts[j] = 0.0
            for f in range(d):
                sums[j, f] = 0.0
        for i in range(n):
            j = labels[i]
            counts[j] += 1.0
            for f in range(d):
                sums[j, f] += X[i, f]
        shift = 0.0
        for j in range(k):
            w = counts[j]
            if w == 0.0:
                emptied = True
                break
            alpha = 1.0 / w
            for f in range(d):
                new[j, f] = sums[j, f] * alpha
            r = _sq_dist(new, j, centers, j)
            s = np.sqrt(r)
            shift += s * s
        if emptied:
            break
        for j in range(k):
            for f in range(d):
                centers[j, f] = new[j, f]
        same = True
        for i in range(n):
            if labels[i] != old[i]:
                same = False
                break
        if same:  # strict convergence: the labels already belong to these centres
            break
        stopped = shift <= tol or it >= max_iter
        for i in range(n):
            old[i] = labels[i]
    inertia = 0.0
    for i in range(n):
        inertia += _sq_dist(X, i, centers, labels[i])
    return labels, centers, it, emptied, inertia
