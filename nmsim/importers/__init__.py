"""Importers: other tools' workload descriptions → nmsim traces."""
