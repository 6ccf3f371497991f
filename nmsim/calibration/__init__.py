"""Calibrating hardware configs against measured latencies: the measurement format and the fit."""
