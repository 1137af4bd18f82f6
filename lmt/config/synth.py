"""Config section ``synth:`` -- pseudo-parallel synthesis (``lmt synth``; see :mod:`data_prep.synth`).

Monolingual text is translated by a model into training pairs that ``lmt prep``
reads as an ordinary (Moses) corpus named ``corpus``.

```yaml
synth:
  enabled: true                          # a stage of `lmt run`, before prep (off unless enabled)
  model: NiuTrans/LMT-60-4B              # path or hub id (default: the run's SFT model)
  prompt: released                       # the model's prompt template (lmt.prompts)
  inputs:                                # one sentence per line (.txt, .gz) or Parquet
    - {path: /data/mono/en.txt.gz, lang: eng_Latn}
    - {path: /data/mono/zh.parquet, lang: zho_Hans, column: text}
  directions: [en2x]                     # en2x, zh2x, a tier (low), explicit (en-ky, zh-ky)
  num_beams: 1
  shard_size: 10000                      # sentences per shard (unit of resumption)
```
The output goes to ``output_dir`` or ``<run_dir>/data/synth``.
"""

from __future__ import annotations

import re
from typing import Literal, Optional, Union

from pydantic import Field, field_validator

from lmt.config.base import StrictModel
from lmt.config.generation import EngineSettings


class SynthInput(StrictModel):
    """One monolingual input file."""

    path: str = Field(description="text file, one sentence per line (.txt or .gz), or a Parquet file")
    lang: str = Field(description="language of the text (any registry code: en, eng, eng_Latn)")
    format: Literal["auto", "text", "parquet"] = Field("auto", description="auto: Parquet for *.parquet, else text")
    column: str = Field("text", description="Parquet column holding the sentences")


class DegenerateConfig(StrictModel):
    """Checks that drop broken model outputs before they are written."""

    min_repeats: int = Field(4, ge=2, description="an n-gram repeated this many times in a row marks a looping output")
    max_ngram: int = Field(6, ge=1, description="longest n-gram (words; characters for spaceless scripts) checked for loops")
    min_script_share: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the output's letters that must be in the target language's script"
    )
    drop_copies: bool = Field(True, description="drop outputs equal to the source (after casefolding, punctuation removed)")


class SynthConfig(EngineSettings):
    """Settings of the ``synth`` stage (``lmt synth CONFIG``)."""

    enabled: bool = Field(False, description="run this stage in `lmt run` (before prep)")
    inputs: list[SynthInput] = Field(default_factory=list, description="monolingual files to translate")
    directions: Union[str, list[str]] = Field(
        "en2x",
        description="directions to synthesise: en2x, zh2x, a tier (high/medium/low) or SRC-TGT pairs; "
        "only directions whose source language has an input are used",
    )
    model: Optional[str] = Field(
        None, description="translation model directory or hub id (default: the run's SFT model, <run_dir>/checkpoints/sft/final)"
    )
    tokenizer: Optional[str] = Field(None, description="tokenizer directory or hub id (default: the model's)")
    trust_remote_code: bool = Field(False, description="allow model repos to run their own code")
    prompt: str = Field("released", description="prompt template of the model: released (LMT-60 checkpoints), stp, pmp")
    use_chat_template: bool = Field(True, description="wrap the prompt in the tokenizer's chat template")

    num_beams: int = Field(1, ge=1, description="beam size (1 = greedy, the fast choice for bulk synthesis)")
    max_new_tokens: int = Field(256, ge=1, description="generation limit per sentence")
    do_sample: Optional[bool] = Field(False, description="sample instead of searching (None: the model's generation_config)")
    batch_size: int = Field(16, ge=1, description="sentences per generate() call (HF engine)")
    sort_by_length: bool = Field(True, description="batch sentences of similar length together (outputs keep input order)")

    shard_size: int = Field(10_000, ge=1, description="sentences per shard: the unit written atomically and resumed")
    limit: Optional[int] = Field(None, ge=1, description="translate only the first N sentences per direction (quick looks)")
    degenerate: DegenerateConfig = Field(default_factory=DegenerateConfig, description="checks on the model outputs")
    corpus: Optional[str] = Field(
        None, description="corpus name of the output, as prep and training see it (default: synth_<model name>)"
    )
    formats: list[Literal["moses", "parquet"]] = Field(
        default_factory=lambda: ["moses"],
        description="moses: {corpus}.{src}-{tgt}.{src|tgt} files that `lmt prep` reads; "
        "parquet: parallel/{src}-{tgt}/*.parquet in the prep-output layout (training can read it directly)",
    )
    output_dir: Optional[str] = Field(None, description="output directory (default <run_dir>/data/synth)")

    @field_validator("corpus")
    @classmethod
    def _plain_corpus_name(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-]*", v):
            raise ValueError("corpus must be letters, digits, '_' or '-' (it becomes part of file names)")
        return v

    @field_validator("formats")
    @classmethod
    def _some_format(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("give at least one output format (moses, parquet)")
        return list(dict.fromkeys(v))
