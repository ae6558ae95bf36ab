"""Legacy analytics helpers."""
