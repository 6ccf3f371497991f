"""The published tables expanded into one row per run: (model, recipe, target, scope, variant).

Every table cell with a value becomes a :class:`PublishedRow`. Cells of different tables that report the
same run (the same key) merge into one row that cites them all; their values must agree to the printed
digits (:class:`~nmsim.errors.NmsimInputError` otherwise), so a duplicate never counts as a second seed.
Variants stay apart: they are part of the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nmsim.errors import NmsimInputError
from nmsim.published.tables import RECIPES, Column, PaperTables, Settings, Table
from nmsim.sparsity import DENSE, Pattern, parse_pattern

SDGF_SLIP = (
    'the paper labels this row "MDGF-{kind}" in Table 12, but its overall score equals Table 4\'s '
    "SDGF-{kind} entry: read as SDGF (a labelling slip)"
)


@dataclass
class PublishedRow:
    """One published run: its identity, its value(s) in the table's unit, and where they come from.

    ``target`` (the FF layers' pattern) and ``attn`` (the Q/K(/V) pattern of mixed rows) are typed
    patterns, parsed once from the data file's strings here (``str()`` gives their spelling back).
    ``accuracy``: the headline metric as printed; ``extra``: a long table's other columns (same unit);
    ``settings``: the schedule numbers the tables state; ``citations``: 'Table 2, row "1:32 (FF)",
    column "MDGF-Exponential"' per cell; ``caveats``: what a reader must know.
    """

    model: str
    recipe: str
    target: Pattern
    scope: str
    attn: Pattern | None
    variant: str | None
    accuracy: float
    settings: Settings
    tables: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, Pattern, str, Pattern | None, str | None]:
        return (self.model, self.recipe, self.target, self.scope, self.attn, self.variant)

    @property
    def family(self) -> str:
        """The trainer's recipe family ('mdgf' for 'mdgf-exp', ...)."""
        return RECIPES[self.recipe]

    @property
    def cell(self) -> str:
        """The recipe's label with the attention pattern of mixed rows: 'srste+qk1:4'."""
        if self.attn is None:
            return self.recipe
        return f"{self.recipe}+{self.scope.removeprefix('ff+')}{self.attn}"


def _cell_rows(paper: PaperTables, table: Table) -> list[PublishedRow]:
    out: list[PublishedRow] = []
    for row in table.rows:
        for j, (col, value) in enumerate(zip(table.columns, row.values, strict=True)):
            if value is None:
                continue
            if table.kind == "long":
                if j > 0:
                    continue
                column = Column(recipe=row.recipe, header=str(col))
            else:
                assert isinstance(col, Column)
                column = col
            recipe = column.recipe or row.recipe
            assert recipe is not None
            cell = row.cells.get(recipe)
            dense = recipe == "dense"
            field = f"tables[{table.id}].rows"
            target_text = column.target or row.target
            if not dense and target_text is None:
                raise NmsimInputError(field, "a target from the row or the column", row.label)
            target = DENSE if dense or target_text is None else parse_pattern(target_text, field)
            variant = None if dense else (cell and cell.variant) or column.variant or row.variant
            settings = Settings()
            if not dense:
                settings = settings.merged(row.settings).merged(column.settings)
                settings = settings.merged(cell.settings if cell else None)
            caveats = [] if dense else [c for c in (row.caveat, column.caveat, cell and cell.caveat) if c]
            if row.sdgf_label_slip:
                caveats.append(SDGF_SLIP.format(kind=recipe.removeprefix("sdgf-").capitalize()))
            where = f'Table {table.id}, row "{row.label}"'
            if table.kind == "wide":
                where += f', column "{column.header or recipe}"'
            extra = {}
            if table.kind == "long":
                extra = {
                    str(c): v for c, v in zip(table.columns[1:], row.values[1:], strict=True) if v is not None
                }
            out.append(
                PublishedRow(
                    model=table.model,
                    recipe=recipe,
                    target=target,
                    scope="ff" if dense else row.scope,
                    attn=None if dense or row.attn is None else parse_pattern(row.attn, field),
                    variant=variant,
                    accuracy=float(value),
                    settings=settings,
                    tables=[table.id],
                    citations=[where],
                    caveats=caveats,
                    extra=extra,
                )
            )
    return out


def _merge(into: PublishedRow, row: PublishedRow) -> None:
    if into.accuracy != row.accuracy:
        raise NmsimInputError(
            "tables",
            f"cells reporting one run agree ({into.citations[0]}: {into.accuracy}; {row.citations[0]})",
            row.accuracy,
        )
    if into.settings != row.settings:
        raise NmsimInputError(
            "tables",
            f"cells reporting one run state the same settings ({into.citations[0]})",
            row.citations[0],
        )
    for tid in row.tables:
        if tid not in into.tables:
            into.tables.append(tid)
    into.citations += [c for c in row.citations if c not in into.citations]
    into.caveats += [c for c in row.caveats if c not in into.caveats]
    for name, v in row.extra.items():
        into.extra.setdefault(name, v)


def published_rows(paper: PaperTables, model: str | None = None) -> list[PublishedRow]:
    """One row per run of ``paper``'s tables (of ``model`` if given), in table order; duplicates merged."""
    rows: dict[tuple, PublishedRow] = {}
    for table in paper.tables:
        if model is not None and table.model != model:
            continue
        for row in _cell_rows(paper, table):
            if row.key in rows:
                _merge(rows[row.key], row)
            else:
                rows[row.key] = row
    return list(rows.values())
