"""Tests of model_training: rewards, ReCode data loading, the training-set builder."""
