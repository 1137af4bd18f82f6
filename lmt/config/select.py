"""Config section ``select:``: data selection with MIWV or M-DaQ.

```yaml
select:
  method: miwv               # or mdaq
  share: 0.01                # keep the top 1% (ceil(share * N), at least 1)
  scope: global              # or per_direction: the share applies inside each direction
  min_per_direction: 0       # quota: every direction keeps at least this many
  miwv:
    model: runs/demo/checkpoints/cpt/final   # the model being tuned
    embedder: model          # or an HF encoder path / hub id
  mdaq:
    qsm: runs/demo/qsm        # checkpoint written by `lmt select qsm-train`
    encoder: path/to/xlm-roberta-base
    train_data: qsm_train.parquet
```
See :mod:`data_prep.selection` for the methods.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from lmt.config.base import StrictModel


class MiwvConfig(StrictModel):
    """MIWV (arXiv 2511.07074): one-shot in-context loss gain of each sample."""

    model: Optional[str] = Field(
        None,
        description="the model being tuned (HF dir or hub id); default: the run's CPT output checkpoints/cpt/final",
    )
    embedder: str = Field(
        "model", description="'model': mean-pooled last hidden states of `model`; else an HF encoder path or hub id"
    )
    template: str = Field("stp", description="prompt template (lmt.prompts) used to format samples")
    use_chat_template: bool = Field(True, description="wrap prompts with the tokenizer's chat template")
    batch_size: int = Field(8, ge=1, description="samples per forward pass (loss and embeddings)")
    max_length: int = Field(1024, ge=8, description="tokens per sequence; longer ones lose their oldest prompt tokens")
    neighbors: Literal["all", "direction"] = Field(
        "all",
        description="retrieve the one-shot example among all samples (paper) or within the sample's direction",
    )
    retrieval: Literal["auto", "blocked", "faiss"] = Field(
        "auto",
        description="nearest-neighbour engine: auto = blocked tiles (on the GPU when available); faiss on request",
    )
    block_size: int = Field(4096, ge=1, description="query/key block size of the blocked search (memory ~ block^2)")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("float32", description="model dtype")
    trust_remote_code: bool = Field(False, description="allow remote code when loading models from the hub")


class MdaqConfig(StrictModel):
    """M-DaQ (arXiv 2509.15549): quality scoring model + diversity selection."""

    qsm: Optional[str] = Field(None, description="QSM checkpoint directory (default: <run_dir>/qsm)")
    encoder: Optional[str] = Field(None, description="multilingual HF encoder (path or hub id) the QSM is trained from")
    train_data: Optional[str] = Field(
        None,
        description="Parquet/JSONL of (instruction or src_lang/tgt_lang/src, response or tgt, score) for qsm-train",
    )
    epochs: int = Field(3, ge=1, description="QSM training epochs")
    lr: float = Field(2e-5, gt=0, description="QSM learning rate (AdamW)")
    weight_decay: float = Field(0.01, ge=0, description="QSM AdamW weight decay")
    eval_share: float = Field(0.1, ge=0, lt=1, description="share of train_data held out to report QSM eval MSE")
    batch_size: int = Field(16, ge=1, description="QSM batch size (training and scoring)")
    max_length: int = Field(512, ge=8, description="QSM input tokens")
    head_hidden: list[int] = Field([2048, 1024], description="hidden sizes of the regression head (CaR: 2048, 1024)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in the regression head")
    template: str = Field("stp", description="prompt template that turns (src_lang, tgt_lang, src) into an instruction")
    embedder: str = Field("qsm", description="DSA embeddings: 'qsm' (the QSM's encoder, mean-pooled) or an HF encoder")
    n_clusters: Optional[int] = Field(None, ge=1, description="k-means clusters (default int(sqrt(N/2)) as in CaR)")
    pca_variance: Optional[float] = Field(
        0.95, gt=0, le=1, description="PCA keeping this share of variance before k-means (CaR); null disables"
    )
    trust_remote_code: bool = Field(False, description="allow remote code when loading models from the hub")


class SelectConfig(StrictModel):
    """Settings of the ``select`` stage (``lmt select miwv|mdaq CONFIG``)."""

    enabled: bool = Field(True, description="run selection at the end of `lmt prep`")
    method: Literal["miwv", "mdaq"] = Field("miwv", description="selection method")
    input_dir: Optional[str] = Field(None, description="data directory to select from (default: the prep output)")
    output_dir: Optional[str] = Field(None, description="where the selection goes (default: <run_dir>/data/selected)")
    directions: list[str] = Field(default_factory=list, description="only these directions (default: all in the input)")
    share: float = Field(0.01, gt=0, le=1, description="share of samples kept: ceil(share * N), at least 1")
    scope: Literal["global", "per_direction"] = Field(
        "global", description="rank all samples together, or apply the share inside each direction"
    )
    min_per_direction: int = Field(
        0, ge=0, description="quota: each direction keeps at least this many of its best samples (all if it has fewer)"
    )
    chunk_size: int = Field(1024, ge=1, description="samples per resumable score chunk")
    device: Optional[str] = Field(None, description="torch device (default: cuda when available, else cpu)")
    seed: Optional[int] = Field(None, description="seed for k-means/QSM training (default: the experiment seed)")
    overwrite: bool = Field(False, description="recompute cached chunks instead of resuming")
    miwv: MiwvConfig = Field(default_factory=MiwvConfig, description="MIWV settings")
    mdaq: MdaqConfig = Field(default_factory=MdaqConfig, description="M-DaQ settings")
