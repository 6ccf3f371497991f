"""YAML reading without YAML 1.1's sexagesimal numbers: ``2:4`` stays the string '2:4', not 124.

PyYAML's SafeLoader follows YAML 1.1, where ``1:4`` is base-60 (= 64). N:M patterns are written
exactly like that in hardware configs, traces, recipes and sweep files, so every nmsim YAML document
is read with :class:`SafeLoader` below: ints and floats as YAML 1.2 core writes them.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2-style int/float resolution (no base-60)."""


SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[01_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?(?:0|[1-9][0-9_]*))$"),
    list("-+0123456789"),
)
SafeLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+"
        r"|[-+]?[0-9][0-9_]*\."
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML text with :class:`SafeLoader`."""
    return yaml.load(text, Loader=SafeLoader)
