"""A cold start from each day's local statistics: k-means on the mean, scale and co-movement of the days around it.

Why: a regime is a persistent state, and the states of a liquidity model differ mostly in variance and
correlation, which one day's returns do not show: k-means on the days themselves (hmmlearn's start) splits them
by the direction of the day's move, and EM then has to find the variance structure on its own, from wherever
that put it. Which optimum it reached depended on the seed's k-means++ draws: at seeds 1-7 of the plainest
config (daily returns, Gaussian, monthly refits) balanced accuracy moved by 2.8-2.9 points on two unlike markets
and by 6.3-8.2 on two of the battery's, and the best optimum of a market's first window was reached from 1-6 of
40 starts; on the battery's own settings seed 0 happened to be the most accurate seed on most markets (issue
11's market: 0.850 at seed 0, 0.632-0.752 at seeds 1-4).

Averaged over a window of ``2 * half + 1`` days, the first moments and the signed square roots of the products
(a local scale and co-movement) separate the regimes (the calm days' local scale is low whatever their sign), so
k-means there finds the regimes' clusters and EM starts in their basin. Each start's k-means is seeded by the
start's index, not the model seed, and its window cycles through ``HALF_WINDOWS``: the starts differ by what they
average over, and the cold fit is a function of the rows and settings alone, the same at every seed.

The window is centred: a start is made from the training window's rows only (all published by the refit date),
so using a day's later neighbours inside it looks no further than the fit itself does.
"""
from __future__ import annotations

import numpy as np

# days each side of the local window, by start (start i of a cold fit uses HALF_WINDOWS[i % 3]): first a month
# of trading days (shorter than a regime, weeks to years, long enough for a local scale to have ~20 degrees of
# freedom), then a week and three months. Measured on the battery with its own settings: the three windows' mean
# gap to the true filter 5.0 points against 5.6 for the month alone (4.5 against 6.1 on its four hardest markets;
# week, month and a month's double: 5.4), and within 2.4 nats of hmmlearn's start at its most accurate seed at
# every refit, where the month alone (of the products themselves) fell up to 55 nats short (four regimes)
HALF_WINDOWS = (10, 3, 30)


# the products grow as d^2: past this many features the statistics are those of the window's leading principal
# components (measured: a start on 40 features took 1.3 s, on 80 4.8 s; on 8 components of 80 features ~0.03 s).
# A component's sign is arbitrary, and harmless: flipping a column (and so its products) leaves every k-means
# distance as it was
MAX_DIRECT = 8


def local_statistics(Z: np.ndarray, half: int = HALF_WINDOWS[0]) -> np.ndarray:
    """Per row, the mean of each feature and of each product of two features (squares included) over the rows
    within ``half`` of it (fewer at the ends), each column standardised (a constant column left at zero). More
    than ``MAX_DIRECT`` features: of their ``MAX_DIRECT`` leading principal components instead."""
    Z = np.asarray(Z, dtype=float)
    if Z.shape[1] > MAX_DIRECT:
        centred = Z - Z.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        Z = centred @ vt[:MAX_DIRECT].T
    n, d = Z.shape
    iu = np.triu_indices(d)
    prod = Z[:, iu[0]] * Z[:, iu[1]]
    # a product's signed square root (|z| on the diagonal): a local scale and co-movement whose mean one
    # fat-tailed day cannot dominate (the products themselves have no finite variance under a t(4))
    moments = np.concatenate([Z, np.sign(prod) * np.sqrt(np.abs(prod))], axis=1)
    cum = np.vstack([np.zeros((1, moments.shape[1])), np.cumsum(moments, axis=0)])
    rows = np.arange(n)
    lo, hi = np.clip(rows - half, 0, n), np.clip(rows + half + 1, 0, n)
    local = (cum[hi] - cum[lo]) / (hi - lo)[:, None]
    sd = local.std(axis=0)
    return (local - local.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def local_labels(statistics: np.ndarray, n_states: int, seed: int, kmeans_n_init: int) -> np.ndarray:
    """Each row's cluster: seeded k-means on its ``local_statistics`` (computed once per window and half-width by
    ``fast_hmm.Design.local_statistics``). ``fast_hmm.labelled_start`` makes the start from them (each cluster's
    mean and covariance of the rows themselves, transitions from the labels' counts, so persistent clusters give a
    sticky start)."""
    from regimeshift.regimes.kmeans import kmeans

    return kmeans(statistics, n_states, seed, kmeans_n_init).labels
