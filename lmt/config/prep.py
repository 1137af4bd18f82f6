"""Config section ``prep:`` -- raw OPUS files to filtered, downsampled data.

```yaml
prep:
  corpora:                          # files, Moses prefixes, zips, or directories of OPUS downloads
    - path: /data/opus              # a directory: every corpus found by OPUS file names
    - {path: /data/x/my, format: moses, src_path: train.de, tgt_path: train.en, src_lang: de, tgt_lang: en}
  monolingual:
    - {path: /data/mono/ky.txt.gz, lang: ky}
  filters: {...}                    # lmt.config.filters.FiltersConfig
  dedup: {exact: true, normalized: true}
  pivot: {enabled: true, via: eng_Latn, centres: [zho_Hans]}
  directions: [en2x, x2en, zh2x, x2zh]
  downsample: {ratio: 0.05, per_direction: {kir_Cyrl-eng_Latn: 0.2, x2zh: 0.1}}
  num_workers: 4
  executor: local                   # or ray: units as Ray tasks (ray: {address: auto} joins a cluster)
```
The output goes to ``output_dir`` or ``runs/<name>/data/prep`` in the layout of
:mod:`lmt.datafiles`.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from lmt.config.base import StrictModel
from lmt.config.corpora import CorpusSource
from lmt.config.filters import FiltersConfig
from lmt.errors import ConfigError, UnknownLanguageError
from lmt.languages import CHINESE, ENGLISH, GROUPS, TIERS, Direction, normalize_code


def _code(v: str) -> str:
    try:
        return normalize_code(v)
    except UnknownLanguageError as err:
        raise ValueError(str(err)) from None


class MonoSource(StrictModel):
    """One monolingual text file (one sentence per line, plain or .gz)."""

    path: str = Field(description="text file, one sentence per line (.txt or .gz)")
    lang: str = Field(description="language of the file (any code; normalised to FLORES)")
    corpus: Optional[str] = Field(None, description="corpus name (default: the file name)")

    _norm_lang = field_validator("lang")(classmethod(lambda cls, v: _code(v)))


class DedupConfig(StrictModel):
    """Duplicate removal per language pair, across every corpus and shard."""

    exact: bool = Field(True, description="drop pairs whose (normalised) source and target both repeat an earlier pair")
    normalized: bool = Field(
        True, description="also drop pairs equal after casefolding and removing punctuation, digits and spaces"
    )


class PivotConfig(StrictModel):
    """English-pivot multi-way join (builds Zh-X from En-X and En-Zh)."""

    enabled: bool = Field(True, description="build centre-X pairs through shared pivot-language sentences")
    via: str = Field(ENGLISH, description="pivot language whose identical (normalised) sentences link the corpora")
    centres: list[str] = Field(
        default_factory=lambda: [CHINESE], description="languages paired with every other language through the pivot"
    )
    attach_aux: bool = Field(True, description="attach the auxiliary-language sentence (aux map) where the multi-way data has it")
    min_chars: int = Field(
        1, ge=1, description="pivot sentences shorter than this (characters) link nothing (too generic: 'Yes.')"
    )

    _norm_via = field_validator("via")(classmethod(lambda cls, v: _code(v)))
    _norm_centres = field_validator("centres")(classmethod(lambda cls, v: [_code(c) for c in v]))


def normalize_ratio_key(key: str) -> str:
    """Canonical form of a ``per_direction`` key: a group, tier or ``src-tgt``.

    Raises:
        ConfigError: when the key is neither a group/tier nor a parsable direction.
    """
    k = key.strip()
    if k in GROUPS:
        return k
    if k.lower() in GROUPS:
        return k.lower()
    if ":" in k:  # "x2en:low" -> reverse-to-English directions of low-tier languages
        group, tier = k.split(":", 1)
        if group in GROUPS and tier in TIERS:
            return f"{group}:{tier}"
        raise ConfigError(f"downsample.per_direction.{key}: expected GROUP:TIER, e.g. x2en:low")
    try:
        return str(Direction.parse(k))
    except UnknownLanguageError as err:
        raise ConfigError(f"downsample.per_direction.{key}: {err}") from None


class DownsampleConfig(StrictModel):
    """Strategic downsampling: share of reverse-direction (X->En, X->Zh) records kept."""

    ratio: float = Field(0.05, ge=0.0, le=1.0, description="keep probability of each reverse record (paper: 0.05)")
    per_direction: dict[str, float] = Field(
        default_factory=dict,
        description="overrides by direction (kir_Cyrl-eng_Latn or ky-en), GROUP:TIER (x2zh:low) or group (x2zh)",
    )
    seed: Optional[int] = Field(None, description="seed of the keep decisions (default: the experiment seed)")
    scope: list[Literal["sft", "cpt"]] = Field(
        default_factory=lambda: ["sft"],
        description="training stages whose data is downsampled: sft (the paper: the multi-way SFT data) and optionally "
        "cpt (CPT then reads the kept reverse records too, instead of each pair once from its forward direction)",
    )

    @field_validator("scope")
    @classmethod
    def _scope(cls, v: list[str]) -> list[str]:
        if "sft" not in v:
            raise ValueError("scope must include sft: prep writes the SFT data (to downsample nothing, set ratio: 1.0)")
        return sorted(set(v))

    @field_validator("per_direction")
    @classmethod
    def _check(cls, v: dict[str, float]) -> dict[str, float]:
        out = {}
        for key, value in v.items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"per_direction.{key}: ratio {value} must be within [0, 1]")
            out[normalize_ratio_key(key)] = float(value)
        return out


class RayConfig(StrictModel):
    """Where and how ``prep.executor: ray`` runs the units (see the README's cluster lines)."""

    address: Optional[str] = Field(
        None, description="Ray cluster to join (auto, ray://host:10001); unset: start a local instance with num_workers CPUs"
    )
    num_cpus: float = Field(1.0, gt=0, description="CPUs each unit reserves (language ID runs on one)")
    memory: Optional[int] = Field(None, ge=1, description="bytes of memory each unit reserves (Ray scheduling hint)")
    resources: dict[str, float] = Field(default_factory=dict, description="custom Ray resources each unit needs")
    max_retries: int = Field(3, ge=0, description="reruns of a unit whose worker or node died")


class PrepConfig(StrictModel):
    """Settings of the ``prep`` stage (``lmt prep CONFIG``)."""

    enabled: bool = Field(True, description="run this stage in `lmt run`")
    corpora: list[CorpusSource] = Field(
        default_factory=list, description="parallel corpora: files, Moses prefixes, zips or directories of OPUS downloads"
    )
    monolingual: list[MonoSource] = Field(default_factory=list, description="monolingual text files (CPT data)")
    filters: FiltersConfig = Field(default_factory=FiltersConfig, description="parallel filters and their cascade")
    mono_filters: list[str] = Field(
        default_factory=lambda: ["lid", "length", "script"],
        description="filters of `filters` applied to monolingual text (settings cascade as for pairs)",
    )
    normalize: bool = Field(True, description="Unicode NFC, whitespace collapse, control characters removed before filtering")
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    pivot: PivotConfig = Field(default_factory=PivotConfig)
    directions: list[str] = Field(
        default_factory=lambda: ["en2x", "x2en", "zh2x", "x2zh"],
        description="directions to emit: groups (en2x, x2en, zh2x, x2zh, other), tiers (low) or explicit (en-ky)",
    )
    languages: Optional[list[str]] = Field(None, description="keep only pairs among these languages (None: all)")
    downsample: DownsampleConfig = Field(default_factory=DownsampleConfig)
    output_dir: Optional[str] = Field(None, description="output directory (default runs/<name>/data/prep)")
    shard_size: int = Field(100_000, ge=1, description="pairs per raw shard (unit of parallel work)")
    buckets: Optional[int] = Field(
        None, ge=1, description="hash buckets of dedup and the pivot join (default: one per ~200k pairs)"
    )
    num_workers: int = Field(1, ge=1, description="worker processes (1 = run in this process)")
    executor: Literal["local", "ray"] = Field("local", description="local process pool, or Ray tasks (pip install 'lmt[ray]')")
    ray: RayConfig = Field(default_factory=RayConfig, description="Ray settings (executor: ray)")
    lid_pass: Literal["auto", "on", "off"] = Field(
        "auto",
        description="language ID once per unique sentence in a pass before filtering (auto: when a language occurs in several corpora)",
    )
    write_dropped: bool = Field(
        False, description="write every dropped pair (filters, duplicates, ...) with its drop_reason under DIR/dropped/"
    )
    keep_scores: bool = Field(
        False,
        description="store every filter's scores of every pair (kept and dropped) under DIR/scores/ and as columns "
        "of the output, so `lmt prep CONFIG --refilter` can re-decide with new thresholds without re-scoring",
    )
    max_line_bytes: int = Field(
        100_000, ge=1, description="longest line read from Moses/text files (bytes); longer lines drop their pair (read:line_too_long)"
    )
    strict: bool = Field(False, description="abort on an empty XCES alignment file instead of skipping it with a warning")
    keep_work: bool = Field(False, description="keep intermediate shards under DIR/_work after success")

    @field_validator("languages")
    @classmethod
    def _norm_languages(cls, v: Optional[list[str]]) -> Optional[list[str]]:
        return None if v is None else [_code(c) for c in v]
