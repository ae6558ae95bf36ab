# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Feature preparation written against NumPy 1.23 (benchmark input: kb_recall, target numpy==1.25.2).

Every line that uses an API changed by 1.25.2 ends with ``# old-api: <change>``.
"""

import numpy as np


def to_matrix(rows, as_objects=False):
    """Stack rows into a float matrix (or an object array of the raw rows)."""
    if as_objects:
        return np.array(rows, dtype=np.object)  # old-api: numpy.object
    return np.asarray(rows, dtype=np.float)  # old-api: numpy.float


def label_codes(labels):
    """Integer codes and a validity mask for a list of string labels."""
    uniques = sorted(set(labels))
    codes = np.array([uniques.index(label) for label in labels], dtype=np.int)  # old-api: numpy.int
    valid = np.ones(len(labels), dtype=np.bool)  # old-api: numpy.bool
    return codes, valid


def spectrum(signal):
    """Complex spectrum of a real signal."""
    buffer = np.zeros(len(signal), dtype=np.complex)  # old-api: numpy.complex
    buffer[:] = np.fft.fft(signal)
    return buffer


def flags_and_offsets(n):
    """A boolean flag array and an index-sized offset array."""
    flags = np.zeros(n, dtype=np.bool8)  # old-api: numpy.bool8
    offsets = np.arange(n, dtype=np.int0)  # old-api: numpy.int0
    return flags, offsets


def summarise(matrix):
    """Summary statistics of a 2-D matrix."""
    rounded = np.round_(matrix, 2)  # old-api: numpy.round_
    total = np.product(matrix.shape)  # old-api: numpy.product
    running = np.cumproduct(matrix, axis=0)  # old-api: numpy.cumproduct
    any_negative = np.sometrue(matrix < 0)  # old-api: numpy.sometrue
    all_finite = np.alltrue(np.isfinite(matrix))  # old-api: numpy.alltrue
    column_order = np.msort(matrix)  # old-api: numpy.msort
    return rounded, total, running, any_negative, all_finite, column_order


def common_dtype(arrays):
    """The dtype every array in ``arrays`` can be cast to."""
    return np.find_common_type([a.dtype for a in arrays], [])  # old-api: numpy.find_common_type
