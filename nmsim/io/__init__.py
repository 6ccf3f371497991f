"""Reading and writing user files: atomic writes, YAML/JSON loading with one-line errors, the registry."""

from nmsim.io.atomic import write_bytes_atomic, write_text_atomic
from nmsim.io.loaders import load_hardware, load_trace, load_traces, save_trace

__all__ = [
    "load_hardware",
    "load_trace",
    "load_traces",
    "save_trace",
    "write_bytes_atomic",
    "write_text_atomic",
]
