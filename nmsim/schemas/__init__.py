"""Typed, validated input schemas (pydantic): hardware configs and layer traces."""

from nmsim.schemas.hardware import HardwareConfig
from nmsim.schemas.trace import Layer, Phase, Trace, TrainingRecord

__all__ = ["HardwareConfig", "Layer", "Phase", "Trace", "TrainingRecord"]
