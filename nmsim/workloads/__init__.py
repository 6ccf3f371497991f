"""Workload builders: layer traces made from an architecture's hyperparameters."""
