"""The data file of a paper's published tables (``pgf_tables.yaml``): schema, loading, validation.

The file is the single place the paper's numbers live; see its header for the conventions (wide vs
long tables, targets and scopes, variants, settings). Loading validates it with pydantic and turns any
error into one :class:`~nmsim.errors.NmsimInputError` line naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError, model_validator

from nmsim.errors import NmsimInputError, from_validation_error
from nmsim.io.yaml_safe import load_yaml
from nmsim.schemas.common import Strict
from nmsim.schemas.trace import check_pattern

PGF_TABLES = Path(__file__).with_name("pgf_tables.yaml")

#: Recipe keys a table may name: the trainer's cell names (``nmsim train``).
RECIPES: dict[str, str] = {
    "dense": "dense",
    "srste": "srste",
    "mdgf-linear": "mdgf",
    "mdgf-exp": "mdgf",
    "sdgf-stepwise": "sdgf",
    "sdgf-geometric": "sdgf",
}

Scope = Literal["ff", "ff+qk", "ff+qkv"]


class Settings(Strict):
    """Schedule numbers a table states for a row (anything unset comes from the code defaults).

    ``dense_steps`` (optimizer steps) and ``dense_fraction`` (of the run) are exclusive.
    """

    dense_steps: NonNegativeInt | None = None
    dense_fraction: float | None = Field(None, ge=0, lt=1)
    finetune_fraction: float | None = Field(None, ge=0, lt=1)
    decay_coef: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_dense(self) -> Settings:
        if self.dense_steps is not None and self.dense_fraction is not None:
            raise ValueError("give dense_steps or dense_fraction, not both")
        return self

    def merged(self, other: Settings | None) -> Settings:
        """These settings overridden by every field ``other`` sets."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_none=True))


class CodeDefaults(Strict):
    """The released code's defaults, used for what a row does not state (all marked derived)."""

    dense_fraction: float = Field(ge=0, lt=1)
    finetune_fraction: float = Field(ge=0, lt=1)
    decay_coef: float = Field(gt=0)
    srste_lambda: float = Field(gt=0)
    mask_refresh_every: NonNegativeInt
    geometric_k: PositiveInt
    exp_floor: float = Field(gt=0, lt=1)


class Setup(Strict):
    """A model's training setup as the paper's setup table states it (epochs or steps, batch, ...)."""

    table: str | int
    batch: PositiveInt
    epochs: PositiveInt | None = None
    dataset_size: PositiveInt | None = Field(None, description="training examples per epoch")
    drop_last: bool = True
    steps: PositiveInt | None = None
    lr: float | None = None
    warmup_epochs: NonNegativeInt | None = None
    warmup_steps: NonNegativeInt | None = None
    lr_schedule: str | None = None
    lr_decay_rate: float | None = None
    lr_decay_epochs: NonNegativeInt | None = None
    optimizer: str | None = None
    mdgf_exp_decay_coef: float | None = Field(None, gt=0, description="the released config's beta_eta")

    @model_validator(mode="after")
    def _length(self) -> Setup:
        if self.steps is None and (self.epochs is None or self.dataset_size is None):
            raise ValueError("a setup needs 'steps', or 'epochs' and 'dataset_size'")
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give 'steps' or 'epochs', not both")
        return self

    @property
    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch: dataset_size ÷ batch (rounded down with drop_last, else up)."""
        if self.epochs is None or self.dataset_size is None:
            return None
        full, rest = divmod(self.dataset_size, self.batch)
        return full if self.drop_last or not rest else full + 1

    @property
    def total_steps(self) -> int:
        """The run's optimizer steps: ``steps``, or epochs × steps per epoch."""
        if self.steps is not None:
            return self.steps
        assert self.epochs is not None and self.steps_per_epoch is not None
        return self.epochs * self.steps_per_epoch


class Model(Strict):
    """A model of the paper: what it was trained on, how quality was measured, its setup."""

    label: str
    task: str
    dataset: str
    split: str
    metric: str
    unit: Literal["percent", "fraction"]
    caveat: str | None = None
    setup: Setup


class Cell(Strict):
    """What one table cell adds to its row and column."""

    variant: str | None = None
    settings: Settings | None = None
    caveat: str | None = None


class Column(Strict):
    """A column: a recipe (wide tables; ``target`` when the column fixes it) or a metric (long tables)."""

    recipe: str | None = None
    target: str | None = None
    header: str | None = None
    variant: str | None = None
    settings: Settings | None = None
    caveat: str | None = None


class Row(Strict):
    """A table row as printed: its label, what it fixes, and its values in column order."""

    label: str
    recipe: str | None = None
    target: str | None = None
    attn: str | None = Field(None, description="the Q/K(/V) pattern of mixed rows")
    scope: Scope = "ff"
    variant: str | None = None
    settings: Settings | None = None
    caveat: str | None = None
    sdgf_label_slip: bool = False
    values: list[float | None]
    cells: dict[str, Cell] = Field(default_factory=dict, description="per-column additions, by recipe key")


class Table(Strict):
    """One results table of the paper."""

    id: str
    model: str
    title: str
    kind: Literal["wide", "long"]
    columns: list[Column | str] = Field(min_length=1)
    rows: list[Row] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row.values) != len(self.columns):
                raise ValueError(
                    f"rows[{i}] ('{row.label}') has {len(row.values)} values for {len(self.columns)} columns"
                )
            for pat in (row.target, row.attn):
                if pat is not None:
                    check_pattern(pat, f"rows[{i}].target")
            if (row.attn is None) != (row.scope == "ff"):
                raise ValueError(f"rows[{i}] ('{row.label}'): 'attn' goes with scope ff+qk or ff+qkv")
            if self.kind == "long" and (row.recipe is None or row.target is None):
                raise ValueError(f"rows[{i}] ('{row.label}'): a long table's row names its recipe and target")
            for key in row.cells:
                if not any(isinstance(c, Column) and c.recipe == key for c in self.columns):
                    raise ValueError(f"rows[{i}].cells names '{key}', which is no column's recipe")
        for j, col in enumerate(self.columns):
            if self.kind == "wide" and not (isinstance(col, Column) and col.recipe):
                raise ValueError(f"columns[{j}]: a wide table's columns name a recipe")
            if self.kind == "long" and not isinstance(col, str):
                raise ValueError(f"columns[{j}]: a long table's columns are metric names")
        recipes = [c.recipe for c in self.columns if isinstance(c, Column)] + [r.recipe for r in self.rows]
        unknown = sorted({r for r in recipes if r is not None and r not in RECIPES})
        if unknown:
            raise ValueError(f"unknown recipe(s) {unknown}; known: {', '.join(RECIPES)}")
        return self


class SpeedupRow(Strict):
    hardware: str
    values: list[float]


class SpeedupTable(Strict):
    """A speedup table (kept as data for fidelity checks): ``values`` per pattern, ``relative_to`` = 1."""

    id: str
    title: str
    model: str | None = None
    relative_to: str
    kernel: str
    patterns: list[str] = Field(min_length=1)
    rows: list[SpeedupRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> SpeedupTable:
        for row in self.rows:
            if len(row.values) != len(self.patterns):
                raise ValueError(
                    f"row '{row.hardware}' has {len(row.values)} values for {len(self.patterns)} patterns"
                )
        return self

    def speedup(self, hardware: str, pattern: str) -> float:
        """The published speedup of ``pattern`` on ``hardware`` (relative to ``relative_to``)."""
        row = next((r for r in self.rows if r.hardware == hardware), None)
        if row is None:
            raise NmsimInputError("hardware", ", ".join(r.hardware for r in self.rows), hardware)
        if pattern not in self.patterns:
            raise NmsimInputError("pattern", ", ".join(self.patterns), pattern)
        return row.values[self.patterns.index(pattern)]


class Paper(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    citation: str
    short: str
    code: str | None = None


class PaperTables(Strict):
    """The whole data file."""

    paper: Paper
    code_defaults: CodeDefaults
    models: dict[str, Model]
    tables: list[Table] = Field(min_length=1)
    speedups: list[SpeedupTable] = Field(default_factory=list)

    @model_validator(mode="after")
    def _models_known(self) -> PaperTables:
        ids = [t.id for t in self.tables]
        if len(set(ids)) != len(ids):
            raise ValueError("table ids must be unique")
        for t in self.tables:
            if t.model not in self.models:
                raise ValueError(f"table {t.id} names model '{t.model}'; known: {', '.join(self.models)}")
        return self

    def table(self, table_id: str) -> Table:
        """The results table ``table_id`` ('2', '12', ...)."""
        for t in self.tables:
            if t.id == table_id:
                return t
        raise NmsimInputError("table", ", ".join(t.id for t in self.tables), table_id)

    def speedup_table(self, table_id: str) -> SpeedupTable:
        for t in self.speedups:
            if t.id == table_id:
                return t
        raise NmsimInputError("table", ", ".join(t.id for t in self.speedups), table_id)


def load_tables(path: str | Path = PGF_TABLES) -> PaperTables:
    """Load and validate a data file of published tables (default: [PGF]'s, shipped with nmsim)."""
    p = Path(path)
    try:
        doc = load_yaml(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NmsimInputError("tables", "an existing YAML file", str(p)) from None
    try:
        return PaperTables.model_validate(doc)
    except ValidationError as exc:
        raise from_validation_error(exc, source=str(p)) from None
