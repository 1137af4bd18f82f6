"""Config section ``eval:`` (the ``lmt eval`` stage; see :mod:`eval`).

```yaml
eval:
  model: NiuTrans/LMT-60-4B          # default: <run_dir>/checkpoints/sft/final
  flores_dir: /data/flores200_dataset
  split: devtest
  directions: [en2x, x2en]           # all | en2x | x2en | zh2x | x2zh | high | medium | low | en-ky ...
  prompt: released                   # released | released_v0 | stp | pmp
  pmp: none                          # none | oracle (PMP-O) | self (PMP-S)
  num_beams: 5
  comet_model: Unbabel/wmt22-comet-da   # or a local checkpoint dir; null: no COMET
  bootstrap: 1000                    # 95% intervals for every metric (COMET too)
  strict: false                      # skip (and list) directions whose language FLORES lacks
```
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from lmt.config.generation import EngineSettings

METRICS = ("chrf", "chrf++", "bleu", "comet")
#: Metrics a report can draw: the scored ones plus the off-target rate.
HEATMAP_METRICS = METRICS + ("off_target",)


class EvalConfig(EngineSettings):
    """Settings of the ``eval`` stage (FLORES-200 translation and scoring)."""

    enabled: bool = Field(True, description="run this stage in `lmt run`")
    model: Optional[str] = Field(
        None, description="model directory or hub id (default: the run's SFT model, <run_dir>/checkpoints/sft/final)"
    )
    tokenizer: Optional[str] = Field(None, description="tokenizer directory or hub id (default: the model's)")
    trust_remote_code: bool = Field(False, description="allow model repos to run their own code")

    flores_dir: Optional[str] = Field(
        None, description="FLORES-200 / FLORES+ directory (original flores200_dataset, FLORES+ dev/devtest, ...)"
    )
    extra_flores_dirs: list[str] = Field(
        default_factory=list, description="more FLORES-style sets, e.g. LMT's flores.{dev,devtest}.{en,zh,mvf}"
    )
    split: Literal["dev", "devtest"] = Field("devtest", description="FLORES split to translate")
    directions: Union[str, list[str]] = Field(
        "all", description="all (234), en2x, x2en, zh2x, x2zh, a tier (high/medium/low), or SRC-TGT pairs"
    )
    max_sentences: Optional[int] = Field(None, ge=1, description="translate only the first N sentences (quick runs)")
    strict: bool = Field(
        False,
        description="a language missing from every FLORES directory is an error (default: its directions are "
        "skipped with a warning and listed in the report)",
    )

    prompt: str = Field("released", description="prompt template: released (LMT-60 checkpoints), released_v0, stp, pmp")
    use_chat_template: Optional[bool] = Field(
        None, description="None: as the prompt template defines; false: raw prompt text (base / CPT-only models)"
    )
    pmp: Literal["none", "oracle", "self"] = Field(
        "none",
        description="none: plain prompt; oracle (PMP-O): reference auxiliary sentence; "
        "self (PMP-S): the model first translates the source into the auxiliary language",
    )
    num_beams: int = Field(5, ge=1, description="beam size (1 = greedy); the released code uses 5")
    max_new_tokens: int = Field(512, ge=1, description="generation limit per sentence")
    batch_size: int = Field(4, ge=1, description="sentences per generate() call (HF engine)")
    sort_by_length: bool = Field(True, description="batch sentences of similar length together (outputs keep input order)")
    do_sample: Optional[bool] = Field(
        None, description="None keeps the model's generation_config (as the released code does); false forces deterministic search"
    )

    metrics: list[str] = Field(
        default_factory=lambda: ["chrf", "chrf++", "bleu"],
        description="metrics to compute; comet is added when comet_model is set",
    )
    bleu_tokenize: str = Field(
        "auto", description="sacrebleu tokenizer: auto (per target script), 13a, char, zh, ja-mecab, flores200 ..."
    )
    flores_spm: Optional[str] = Field(
        None, description="local FLORES-200 SentencePiece model; with it BLEU uses the flores200 (spBLEU) tokeniser"
    )
    bootstrap: int = Field(0, ge=0, description="bootstrap resamples for 95% confidence intervals per direction (0: off)")
    comet_model: Optional[str] = Field(
        None,
        description="COMET checkpoint dir, .ckpt or hub id (Unbabel/wmt22-comet-da, the paper's COMET-22); null: no "
        "COMET. Loaded before any translation: a model that cannot be loaded stops the run at once",
    )
    comet_encoder: Optional[str] = Field(
        None, description="local dir with the COMET encoder's tokenizer+config (e.g. xlm-roberta-large) for offline use"
    )
    comet_batch_size: int = Field(16, ge=1, description="COMET batch size")
    comet_gpus: Optional[int] = Field(None, ge=0, description="GPUs for COMET (default: 1 if available, else CPU)")
    off_target: bool = Field(
        True,
        description="off-target rate per direction: share of hypotheses whose language (data prep's fastText LID "
        "and label maps) is not the target",
    )
    lid_model: Optional[str] = Field(
        None, description="fastText LID model for the off-target rate (default: the prep lid filter's, else lid.176)"
    )
    heatmap_metrics: list[str] = Field(
        default_factory=lambda: ["comet", "chrf"],
        description="metrics drawn as source x target heatmaps (when computed): comet, chrf, chrf++, bleu, off_target",
    )

    output_dir: Optional[str] = Field(None, description="where hyps/, scores/, report.* go (default <run_dir>/eval)")
    overwrite: bool = Field(False, description="redo directions whose hypotheses already exist")

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: list[str]) -> list[str]:
        return _check_names(v, METRICS)

    @field_validator("heatmap_metrics")
    @classmethod
    def _known_heatmaps(cls, v: list[str]) -> list[str]:
        return _check_names(v, HEATMAP_METRICS)


def _check_names(names: list[str], valid: tuple[str, ...]) -> list[str]:
    bad = [m for m in names if m not in valid]
    if bad:
        raise ValueError(f"unknown metric(s) {bad}; valid: {', '.join(valid)}")
    return list(dict.fromkeys(names))
