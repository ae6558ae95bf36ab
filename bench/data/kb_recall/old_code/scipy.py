# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Signal and statistics helpers written against SciPy 1.8 (benchmark input: kb_recall, target scipy==1.10.1).

Every line that uses an API changed by 1.10.1 ends with ``# old-api: <change>``.
"""

import numpy as np
from scipy import interpolate, linalg, misc, optimize, signal, stats
from scipy.spatial import distance


def taper(n):
    return signal.hanning(n)  # old-api: scipy.signal.hanning


def dissimilarity(u, v):
    return distance.matching(u, v)  # old-api: scipy.spatial.distance.matching


def binary_distance(u, v):
    return distance.kulsinski(u, v)  # old-api: scipy.spatial.distance.kulsinski


def pseudo_inverse(a):
    low = linalg.pinvh(a, cond=1e-10)  # old-api: scipy.linalg.pinvh(cond)
    high = linalg.pinvh(a, rcond=1e-8)  # old-api: scipy.linalg.pinvh(rcond)
    return low, high


def solve_spd(a, b):
    x = linalg.solve(a, b, sym_pos=True)  # old-api: scipy.linalg.solve(sym_pos)
    y = linalg.solve(a, b, debug=False)  # old-api: scipy.linalg.solve(debug)
    return x, y


def global_minimum(func, bounds):
    return optimize.dual_annealing(func, bounds, local_search_options={"method": "L-BFGS-B"})  # old-api: scipy.optimize.dual_annealing(local_search_options)


def same_distribution(a, b):
    one = stats.kstest(a, "norm", mode="exact")  # old-api: scipy.stats.kstest(mode)
    two = stats.ks_2samp(a, b, mode="asymp")  # old-api: scipy.stats.ks_2samp(mode)
    paired = stats.wilcoxon(a, b, mode="approx")  # old-api: scipy.stats.wilcoxon(mode)
    return one, two, paired


def coin_is_fair(heads, flips):
    return stats.binom_test(heads, flips, p=0.5)  # old-api: scipy.stats.binom_test


def sample_images():
    raccoon = misc.face(gray=True)  # old-api: scipy.misc.face
    stairs = misc.ascent()  # old-api: scipy.misc.ascent
    return raccoon, stairs


def surface(x, y, z):
    return interpolate.interp2d(x, y, z, kind="cubic")  # old-api: scipy.interpolate.interp2d


def grid(n):
    return np.linspace(0, 1, n)
