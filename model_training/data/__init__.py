"""Training data: the published ReCode file's loader and the builder of our own set from real code."""
