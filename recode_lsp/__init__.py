"""ReCode: find code that uses APIs the target library version deprecated or removed, and fix it."""

__version__ = "0.1.0"
