"""The experiment config: shared keys plus one optional section per stage.

```yaml
# lmt run recipes/configs/demo.yaml
name: demo
run_dir: runs/demo          # default runs/{name}
seed: 1234
aux_map: default            # or a YAML file (see lmt/data/aux_map.yaml)
languages:                  # optional additions to the registry
  - {code: xyz_Latn, name: Xyzish}
synth: {...}                # pseudo-parallel synthesis (lmt synth), before prep
prep: {...}                 # data_prep (lmt prep)
select: {...}               # data selection (lmt select)
train: {...}                # tokenizer/model/CPT/SFT (lmt train)
eval: {...}                 # FLORES evaluation (lmt eval)
```
Stage outputs live under ``run_dir`` (see :meth:`ExperimentConfig.stage_dir`)
unless a section names its own directory. Relative paths resolve against the
working directory (``${config_dir}/x`` names a file next to the YAML).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Optional

import yaml
from pydantic import Field, PrivateAttr, field_validator

from lmt.config.base import StrictModel, apply_overrides, read_yaml, validate_config
from lmt.config.eval import EvalConfig
from lmt.config.prep import PrepConfig
from lmt.config.select import SelectConfig
from lmt.config.synth import SynthConfig
from lmt.config.train import TrainConfig
from lmt.errors import ConfigError, LMTError

STAGE_DIRS = {
    "synth": "data/synth",
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
    synth: Optional[SynthConfig] = None
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

    The config's extra languages (``languages:``) are registered before the
    sections are validated, so their codes are valid everywhere a code is
    checked (``prep.languages``, filter rules, directions). Also checks the
    auxiliary map, so later stages can rely on both.
    """
    from lmt.aux_map import AuxMap

    data = apply_overrides(read_yaml(path), overrides, Path(path).resolve().parent, ExperimentConfig)
    _register_languages(data.get("languages"), str(path))
    cfg = validate_config(ExperimentConfig, data, str(path))
    cfg._source = str(path)
    if cfg.aux_map != "default":
        aux_path = Path(cfg.aux_map)
        if not aux_path.is_absolute() and not aux_path.exists():
            aux_path = Path(path).parent / aux_path
        cfg.aux_map = str(aux_path)
    AuxMap.load(cfg.aux_map)
    return cfg


class _Languages(StrictModel):
    languages: list[LanguageSpec] = []


def _register_languages(specs: object, source: str) -> None:
    """Validate and register the ``languages:`` list of a config."""
    from lmt.languages import register_language

    if specs is None:
        return
    for i, spec in enumerate(validate_config(_Languages, {"languages": specs}, source).languages):
        try:
            register_language(spec.code, spec.name, iso639_1=spec.iso639_1, short=spec.short, tier=spec.tier, aliases=spec.aliases)
        except LMTError as err:
            raise ConfigError(f"{source}: languages.{i}: {err}") from None


#: The command that writes each stage's output.
WRITERS = {"prep": "lmt prep", "cpt": "lmt train cpt", "sft": "lmt train sft"}


def writer_command(cfg: ExperimentConfig, path: "str | Path", stage: str) -> Optional[str]:
    """The command that writes ``path`` as the output of ``stage`` (``prep``, ``cpt``, ``sft``),
    in backticks, for error messages.

    ``path`` may be the stage directory or, for training, its ``final/`` model.
    The command runs ``cfg`` itself when its ``stage`` writes there, else a
    shipped config (``data_prep/configs``, ``recipes/configs``) whose stage
    does; a config that needs environment variables says which. None when no
    config is known to write ``path``.
    """
    wanted = Path(path).expanduser().resolve()

    def writes(raw: dict) -> bool:
        out = _stage_output(raw, stage)
        return out is not None and wanted in (out.resolve(), (out / "final").resolve())

    if writes(cfg.model_dump(mode="json")):
        return f"`{WRITERS[stage]} {cfg.source}`"
    for config in _shipped_configs():
        text = config.read_text(encoding="utf-8")
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(raw, dict) and writes(raw):
            shown = os.path.relpath(config) if config.resolve().is_relative_to(Path.cwd().resolve()) else str(config)
            needs = sorted(set(re.findall(r"\$\{env:([A-Za-z0-9_]+)\}", text)))
            env = f" after setting {', '.join(needs)} (see the first line of {shown})" if needs else ""
            return f"`{WRITERS[stage]} {shown}`{env}"
    return None


def prep_hint(cfg: ExperimentConfig, data_dir: "str | Path", key: str) -> str:
    """How to create a missing prep output ``data_dir`` that config key ``key`` points at."""
    command = writer_command(cfg, data_dir, "prep")
    if command:
        return f"write it with {command}"
    return f"write it with `lmt prep` on a config with a prep: section, or set {key} to an existing prep output"


def _stage_output(raw: dict, stage: str) -> Optional[Path]:
    """Output directory of a stage in a (raw or dumped) experiment dict; None without that section."""
    section = raw.get("prep") if stage == "prep" else (raw.get("train") or {}).get(stage)
    if not isinstance(section, dict) or section.get("enabled") is False:
        return None
    if section.get("output_dir"):
        return Path(str(section["output_dir"]))
    return Path(str(raw.get("run_dir") or f"runs/{raw.get('name', 'experiment')}")) / STAGE_DIRS[stage]


def _shipped_configs() -> list[Path]:
    """The YAMLs of ``data_prep/configs`` and ``recipes/configs``, found without importing the packages."""
    import importlib.util

    found = []
    for package in ("data_prep", "recipes"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            found += sorted((Path(list(spec.submodule_search_locations)[0]) / "configs").glob("*.yaml"))
    return found
