"""Building blocks shared by the schemas: strict base models and the every-number-has-a-source rule."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    """Frozen model that rejects unknown fields (a typo in YAML/JSON is an error, not ignored) and
    non-finite numbers (NaN, ±inf) in every float field."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """A config section whose every numeric field written in the file must be cited in ``sources``."""

    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _every_number_has_a_source(self) -> Sourced:
        for name in (f for f in type(self).model_fields if f in self.model_fields_set):
            value = getattr(self, name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            is_number = is_number or (
                isinstance(value, dict) and any(isinstance(v, int | float) for v in value.values())
            )
            if is_number and not self.sources.get(name, "").strip():
                raise ValueError(f"numeric field '{name}' needs a citation in 'sources.{name}'")
        return self
