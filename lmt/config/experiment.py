"""The experiment config: shared keys plus one optional section per stage.

```yaml
# lmt run recipes/configs/demo.yaml
name: demo
run_dir: runs/demo          # default runs/{name}
seed: 1234
aux_map: default            # or a YAML file (see lmt/data/aux_map.yaml)
languages:                  # optional additions to the registry
  - {code: xyz_Latn, name: Xyzish}
prep: {...}                 # data_prep (lmt prep)
select: {...}               # data selection (lmt select)
train: {...}                # tokenizer/model/CPT/SFT (lmt train)
eval: {...}                 # FLORES evaluation (lmt eval)
```
Stage outputs live under ``run_dir`` (see :meth:`ExperimentConfig.stage_dir`)
unless a section names its own directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from pydantic import Field, PrivateAttr, field_validator

from lmt.config.base import StrictModel, apply_overrides, read_yaml, validate_config
from lmt.config.eval import EvalConfig
from lmt.config.prep import PrepConfig
from lmt.config.select import SelectConfig
from lmt.config.train import TrainConfig
from lmt.errors import ConfigError, LMTError

STAGE_DIRS = {
    "prep": "data/prep",
    "select": "data/selected",
    "tokenizer": "tokenizer",
    "model_init": "model_init",
    "cpt": "checkpoints/cpt",
    "sft": "checkpoints/sft",
    "grpo": "checkpoints/grpo",
    "eval_grpo": "eval_grpo",
    "eval": "eval",
}


class LanguageSpec(StrictModel):
    """A language added to the registry by config."""

    code: str = Field(description="FLORES-style code xxx_Scrp")
    name: str = Field(description="English name used in prompts")
    iso639_1: str = ""
    short: str = ""
    tier: str = ""
    aliases: list[str] = []


class ExperimentConfig(StrictModel):
    """Top-level experiment config."""

    name: str = Field("experiment", description="experiment name; names the run directory")
    run_dir: Optional[str] = Field(None, description="where outputs go (default runs/{name})")
    seed: int = Field(1234, description="global seed (sampling, downsampling, training)")
    aux_map: str = Field("default", description="auxiliary-language map: 'default' or a YAML path")
    languages: list[LanguageSpec] = Field(default_factory=list, description="languages added to the registry")
    prep: Optional[PrepConfig] = None
    select: Optional[SelectConfig] = None
    train: Optional[TrainConfig] = None
    eval: Optional[EvalConfig] = None

    _source: str = PrivateAttr("<config>")

    @field_validator("name")
    @classmethod
    def _name_is_path_safe(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("name must be a plain directory name")
        return v

    @property
    def source(self) -> str:
        """The YAML file this config was loaded from."""
        return self._source

    @property
    def root(self) -> Path:
        """The run directory."""
        return Path(self.run_dir or f"runs/{self.name}")

    def stage_dir(self, stage: str) -> Path:
        """Default output directory of a stage (``prep``, ``sft``, ``eval``...)."""
        return self.root / STAGE_DIRS[stage]

    def require(self, section: str):
        """Return a section or raise a ConfigError naming the file."""
        value = getattr(self, section)
        if value is None:
            raise ConfigError(f"{self.source}: the command needs a '{section}:' section")
        return value


def load_experiment(path: "str | Path", overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Load an experiment YAML, apply ``key.sub=value`` overrides, validate.

    Also registers the config's extra languages and checks the auxiliary map,
    so later stages can rely on both.
    """
    from lmt.aux_map import AuxMap
    from lmt.languages import register_language

    data = apply_overrides(read_yaml(path), overrides)
    cfg = validate_config(ExperimentConfig, data, str(path))
    cfg._source = str(path)
    for i, spec in enumerate(cfg.languages):
        try:
            register_language(spec.code, spec.name, iso639_1=spec.iso639_1, short=spec.short, tier=spec.tier, aliases=spec.aliases)
        except LMTError as err:
            raise ConfigError(f"{path}: languages.{i}: {err}") from None
    if cfg.aux_map != "default":
        aux_path = Path(cfg.aux_map)
        if not aux_path.is_absolute() and not aux_path.exists():
            aux_path = Path(path).parent / aux_path
        cfg.aux_map = str(aux_path)
    AuxMap.load(cfg.aux_map)
    return cfg
