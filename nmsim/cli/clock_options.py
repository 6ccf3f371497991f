"""The ``--clock-state`` and ``--library`` options of ``nmsim gemm`` and ``nmsim simulate`` (GPU configs)."""

from __future__ import annotations

import typer

from nmsim.engine.clock_state import at_clock_state, describe_state, resolve_state
from nmsim.schemas.hardware import HardwareConfig

CLOCK_STATE_OPTION = typer.Option(
    None,
    "--clock-state",
    help="GPU configs: burst (short runs, boost clock) or sustained (at the power limit); default: the config's",
)
LIBRARY_OPTION = typer.Option(
    False, "--library", help="GPU configs: apply the measured software stack's per-dtype kernel efficiencies"
)


def clocked(
    config: HardwareConfig, state: str | None, library: bool
) -> tuple[HardwareConfig, str | None, str]:
    """(the config to run, the state's name or None off GPUs, a one-line description of the state)."""
    return (
        at_clock_state(config, state, library),
        resolve_state(config, state),
        describe_state(config, state, library),
    )
