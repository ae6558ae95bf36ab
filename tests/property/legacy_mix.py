"""A real-looking module mixing many legacy APIs in awkward places (a property-test fixture)."""
import collections
import unittest
from collections import OrderedDict, Mapping

import numpy as np
import pandas as pd
from numpy import float_, NINF as NEG


def decorate(fn=np.float_):
    return fn


@decorate
def stats(values, *, kind=np.float_, fallback=NEG):
    arr = np.asfarray(values)
    if (total := np.product(arr.shape)) == 0:
        return fallback
    return {k: float_(v) for k, v in zip("ab", (arr.sum(), total))}


class Registry(collections.MutableMapping, Mapping):
    store = OrderedDict()

    def frame(self):
        df = pd.DataFrame(self.store)
        return dict(df.iteritems())


class Tests(unittest.TestCase):
    def test_it(self):
        self.assertEquals(stats([1.0]), stats([1.0])); self.assertRaisesRegexp(ValueError, "x", int, "x")
        self.assertTrue(np.alltrue([np.Inf > 0, np.PINF > 0]))
