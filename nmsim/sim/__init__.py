"""Orchestration: turn layers/GEMMs and a hardware config into results and reports."""
