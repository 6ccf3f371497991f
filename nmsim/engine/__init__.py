"""The cost model: pure functions on numbers (no pydantic objects, no I/O).

- :mod:`nmsim.engine.folds`: how a GEMM folds onto the array, and its compute cycles per dataflow.
- :mod:`nmsim.engine.traffic`: bytes moved between DRAM and each SRAM, SRAM accesses, stall cycles.
- :mod:`nmsim.engine.kernel`: one GEMM's counts (cycles, MACs, accesses), the composition of the two.
- :mod:`nmsim.engine.energy`: counts × energy table → pJ with a breakdown; technology scaling.
- :mod:`nmsim.engine.params`: a hardware config flattened into the numbers the kernel takes.
"""
