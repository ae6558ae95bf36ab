"""Storage code from the SQLAlchemy 1.3 / Python 3.8 days."""
import collections
import unittest

from sqlalchemy import create_engine

engine = create_engine("sqlite://")


def store(rows):
    engine.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    if isinstance(rows, collections.Mapping):
        rows = list(rows.values())
    return rows


class StorageTest(unittest.TestCase):
    def test_store(self):
        self.assertEquals(store({"a": 1}), [1])
