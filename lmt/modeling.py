"""Model and tokenizer helpers shared by training, evaluation and selection.

* :func:`train_tokenizer`: a SentencePiece tokenizer trained on given text
  (identity normalisation, byte fallback) saved as a Hugging Face fast tokenizer
  with a ChatML chat template, so it behaves like Qwen3's.
* :func:`build_qwen3_model`: a randomly initialised Qwen3-architecture model from
  a config (the tiny CPU configuration of tests and the demo).
* :func:`load_model` / :func:`load_tokenizer`: local path or hub id, with clear
  errors, ``trust_remote_code`` off unless asked for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

from lmt.errors import ConfigError, MissingResourceError

# Qwen-style ChatML; the generation prompt matches Qwen3 with thinking disabled.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def train_tokenizer(
    texts: Iterable[str],
    out_dir: "str | Path",
    vocab_size: int = 2000,
    model_type: str = "bpe",
    character_coverage: float = 0.9995,
    user_symbols: Iterable[str] = (),
) -> Any:
    """Train a SentencePiece tokenizer and save it as a HF fast tokenizer.

    Args:
        texts: training sentences (any languages).
        out_dir: where ``tokenizer.json`` and friends are written.
        vocab_size: SentencePiece vocabulary size.
        model_type: ``bpe`` or ``unigram``.
        user_symbols: extra symbols kept whole (e.g. CPT tags ``<en2ky>``).

    Returns:
        The loaded ``PreTrainedTokenizerFast``.
    """
    import sentencepiece as spm
    from transformers import LlamaTokenizerFast, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        with corpus.open("w", encoding="utf-8") as f:
            for t in texts:
                t = t.replace("\n", " ").strip()
                if t:
                    f.write(t + "\n")
        prefix = str(Path(tmp) / "spm")
        try:
            _train_spm(spm, corpus, prefix, vocab_size, model_type, character_coverage, user_symbols)
        except RuntimeError as err:
            if "Vocabulary size is smaller than required_chars" in str(err):
                raise ConfigError(
                    f"tokenizer vocab_size {vocab_size} is too small for the characters of the data ({err}); "
                    "raise vocab_size or lower character_coverage"
                ) from None
            raise
        # Load the model from a folder under Llama's file name: transformers 5
        # ignores ``vocab_file=`` in tokenizer constructors (it would build an
        # empty vocabulary); ``from_pretrained`` converts it on every version.
        spm_dir = Path(tmp) / "spm_tokenizer"
        spm_dir.mkdir()
        shutil.copyfile(prefix + ".model", spm_dir / "tokenizer.model")
        converted = LlamaTokenizerFast.from_pretrained(
            spm_dir, add_bos_token=False, add_eos_token=False, legacy=False
        )
        fast = PreTrainedTokenizerFast(
            tokenizer_object=converted.backend_tokenizer,
            eos_token="<|im_end|>",
            pad_token="<|endoftext|>",
            unk_token="<unk>",
            additional_special_tokens=["<|im_start|>"],
            # Causal LMs take no token_type_ids: `model.generate(**tok(text))` must work.
            model_input_names=["input_ids", "attention_mask"],
        )
        if len(fast) <= len(SPECIAL_TOKENS) + 3:
            raise RuntimeError(f"tokenizer conversion lost the vocabulary ({len(fast)} tokens)")
    fast.chat_template = CHATML_TEMPLATE
    fast.padding_side = "left"
    fast.save_pretrained(out_dir)
    return PreTrainedTokenizerFast.from_pretrained(out_dir)


def _train_spm(spm, corpus, prefix, vocab_size, model_type, character_coverage, user_symbols) -> None:
    """Run the SentencePiece trainer (identity normalisation, byte fallback)."""
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=prefix,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        normalization_rule_name="identity",
        byte_fallback=True,
        hard_vocab_limit=False,
        user_defined_symbols=list(SPECIAL_TOKENS) + list(user_symbols),
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        pad_id=-1,
        num_threads=max(1, min(4, os.cpu_count() or 1)),
        minloglevel=2,
    )


def build_qwen3_model(
    tokenizer: Any,
    out_dir: "str | Path | None" = None,
    hidden_size: int = 64,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    intermediate_size: int = 128,
    max_position_embeddings: int = 1024,
    seed: int = 0,
    **extra: Any,
) -> Any:
    """Randomly initialised Qwen3-architecture causal LM sized for ``tokenizer``.

    Saved (with the tokenizer) to ``out_dir`` when given.
    """
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        head_dim=hidden_size // num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        dtype="float32",
        **extra,
    )
    model = Qwen3ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    if out_dir is not None:
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    return model


def _check_local_or_hub(path: str, what: str) -> None:
    # Hub ids are "name" or "org/name"; anything else is meant as a local path.
    looks_local = path.startswith((".", "/", "~")) or path.count("/") > 1 or Path(path).exists()
    if looks_local and not Path(path).expanduser().exists():
        raise MissingResourceError(f"{what} {path!r} does not exist (give a local directory or a hub id such as Qwen/Qwen3-0.6B)")


def load_tokenizer(path: str, trust_remote_code: bool = False, padding_side: Optional[str] = None) -> Any:
    """Load a tokenizer from a local directory or hub id."""
    from transformers import AutoTokenizer

    _check_local_or_hub(path, "tokenizer")
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise MissingResourceError(f"cannot load tokenizer {path!r}: {err}") from None
    if padding_side:
        tok.padding_side = padding_side
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: str, trust_remote_code: bool = False, dtype: str = "auto", device: Optional[str] = None) -> Any:
    """Load a causal LM from a local directory or hub id (remote code off by default)."""
    import torch
    from transformers import AutoModelForCausalLM

    _check_local_or_hub(path, "model")
    torch_dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    try:
        model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=trust_remote_code, dtype=torch_dtype)
    except OSError as err:
        raise MissingResourceError(f"cannot load model {path!r}: {err}") from None
    if device:
        model.to(device)
    return model
