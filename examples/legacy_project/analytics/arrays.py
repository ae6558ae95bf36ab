"""Array helpers written for NumPy 1.x."""
import numpy as np
from numpy import float_


def normalise(values):
    data = np.array(values, dtype=np.float_)
    total = np.product(data.shape)
    if np.isnan(data).any():
        data[np.isnan(data)] = np.NaN
    return data / total


def safe_log(values):
    try:
        return np.log(np.asfarray(values))
    except np.AxisError:
        return np.NINF


def as_floats(values):
    return [float_(v) for v in values]


def label(values):
    # np.float_ in a comment is not code, and neither is this string:
    return "np.float_" if np.alltrue(values) else np.string_("mixed")
