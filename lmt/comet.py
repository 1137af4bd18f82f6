"""COMET scoring through unbabel-comet: load a model, score segments.

Used by evaluation (``lmt eval``/``lmt score``: reference-based COMET-22) and by
data prep/selection (reference-free CometKiwi quality estimation).

A model is given as one of:

* a local checkpoint directory holding ``checkpoints/model.ckpt`` and
  ``hparams.yaml`` (the layout of the hub snapshots and of
  :func:`lmt.testing.comet.build_tiny_comet`);
* a ``.ckpt`` file inside such a directory;
* a hub id (``Unbabel/wmt22-comet-da``) -- only when the user writes one; it is
  fetched once into the Hugging Face cache (``HF_HUB_OFFLINE=1`` uses the cache
  only).

The checkpoint's ``hparams.yaml`` names the encoder (``xlm-roberta-large``) whose
tokenizer and config unbabel-comet loads by that name; offline, pass
``encoder=<local dir with the encoder's tokenizer + config.json>`` (or keep it in
the Hugging Face cache). Nothing else is downloaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional

from lmt.errors import DataError, MissingResourceError

HOW_TO_GET = (
    "give a local COMET checkpoint directory (with checkpoints/model.ckpt and hparams.yaml, e.g. a "
    "`huggingface-cli download Unbabel/wmt22-comet-da --local-dir DIR` snapshot), a .ckpt file, or a hub id "
    "such as Unbabel/wmt22-comet-da (fetched once into the Hugging Face cache; gated models such as "
    "Unbabel/wmt22-cometkiwi-da need their licence accepted and HF_TOKEN set)"
)


def _quiet_lightning() -> None:
    # Lightning prints GPU/TPU banners and marketing tips on every predict().
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not text.startswith((".", "/", "~"))
        and not text.endswith((".ckpt", ".yaml"))
    )


def resolve_checkpoint(path_or_hub_id: str) -> Path:
    """Return the ``model.ckpt`` path for a directory, a ``.ckpt`` or a hub id.

    Raises:
        MissingResourceError: nothing usable at that path, or the hub download
            failed; the message says how to provide a model.
    """
    text = str(path_or_hub_id).strip()
    if not text:
        raise MissingResourceError(f"no COMET model given: {HOW_TO_GET}")
    p = Path(text).expanduser()
    if p.is_dir():
        ckpt = p / "checkpoints" / "model.ckpt"
        if not ckpt.is_file():
            raise MissingResourceError(f"COMET model directory {p} has no checkpoints/model.ckpt: {HOW_TO_GET}")
    elif p.is_file():
        if p.suffix != ".ckpt":
            raise MissingResourceError(f"COMET model {p} is not a .ckpt checkpoint: {HOW_TO_GET}")
        ckpt = p
    elif _looks_like_hub_id(text):
        from huggingface_hub import snapshot_download

        try:
            local = snapshot_download(repo_id=text, local_files_only=os.environ.get("HF_HUB_OFFLINE", "0") == "1")
            ckpt = Path(local) / "checkpoints" / "model.ckpt"
            if not ckpt.is_file():
                raise FileNotFoundError(f"the snapshot {local} has no checkpoints/model.ckpt")
        except Exception as err:  # network, auth (gated), offline-cache misses
            raise MissingResourceError(
                f"cannot get COMET model {text!r} from the Hugging Face hub or its cache ({err}); {HOW_TO_GET}"
            ) from None
    else:
        raise MissingResourceError(f"COMET model {text!r} does not exist: {HOW_TO_GET}")
    hparams = ckpt.parents[1] / "hparams.yaml"
    if not hparams.is_file():
        raise MissingResourceError(f"COMET checkpoint {ckpt} has no hparams.yaml at {hparams}: {HOW_TO_GET}")
    return ckpt


def _encoder_forward_by_name(self: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any = None, **kwargs: Any) -> dict:
    """unbabel-comet's encoder forward, reading the model output by field name.

    unbabel-comet 2.2.7 unpacks ``return_dict=False`` outputs into three values
    (hidden states, pooler, all layers); transformers 5 encoders built without a
    pooler return two. Reading fields by name works on every version. BERT-style
    encoders use the pooler output as sentence embedding, XLM-R-style ones the
    first token, as in unbabel-comet.
    """
    from comet.encoders.xlmr import XLMREncoder

    extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
    out = self.model(
        input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, return_dict=True, **extra
    )
    last = out.last_hidden_state
    pooled = getattr(out, "pooler_output", None)
    sentemb = last[:, 0, :] if isinstance(self, XLMREncoder) or pooled is None else pooled
    return {"sentemb": sentemb, "wordemb": last, "all_layers": out.hidden_states, "attention_mask": attention_mask}


def _add_special_tokens_pair(encoder: Any) -> None:
    """Give the encoder's tokenizer ``build_inputs_with_special_tokens`` when it lacks it.

    Unified models (CometKiwi, XCOMET) join segments with that method, which
    transformers 5 tokenizers no longer have. The layout is the one the old
    tokenizers produced: ``<cls> a <sep>*size_separator b <sep>`` (XLM-R:
    ``<s> a </s></s> b </s>``; BERT: ``[CLS] a [SEP] b [SEP]``).
    """
    tok = encoder.tokenizer
    if hasattr(tok, "build_inputs_with_special_tokens"):
        return
    cls_id, sep_id, n_sep = tok.cls_token_id, tok.sep_token_id, encoder.size_separator

    def build_inputs_with_special_tokens(token_ids_0: list, token_ids_1: Optional[list] = None) -> list:
        if token_ids_1 is None:
            return [cls_id, *token_ids_0, sep_id]
        return [cls_id, *token_ids_0, *([sep_id] * n_sep), *token_ids_1, sep_id]

    tok.build_inputs_with_special_tokens = build_inputs_with_special_tokens


def install_compat() -> None:
    """Make unbabel-comet 2.2.7 run on transformers 5 (idempotent; no-op on 4.x).

    See :func:`_encoder_forward_by_name`; the tokenizer method is added per
    loaded model by :func:`load_comet`.
    """
    import transformers
    from comet.encoders.bert import BERTEncoder
    from comet.encoders.xlmr import XLMREncoder

    if int(transformers.__version__.split(".")[0]) < 5:
        return
    for cls in (BERTEncoder, XLMREncoder):
        if cls.forward is not _encoder_forward_by_name:
            cls.forward = _encoder_forward_by_name


def load_comet(path_or_hub_id: str, encoder: Optional[str] = None, local_files_only: Optional[bool] = None) -> Any:
    """Load a COMET model (regression, CometKiwi/unified, ranking, XCOMET).

    Args:
        path_or_hub_id: checkpoint directory, ``.ckpt`` file, or hub id.
        encoder: local directory (or hub id) of the encoder's tokenizer and
            config, replacing the ``pretrained_model`` named in ``hparams.yaml``
            (``xlm-roberta-large``, ``microsoft/infoxlm-large``...).
        local_files_only: resolve the encoder from local files/cache only
            (default: when ``HF_HUB_OFFLINE=1`` or ``encoder`` is a local dir).

    Returns:
        A ``comet.models.CometModel`` in eval mode on CPU.

    Raises:
        MissingResourceError: the checkpoint or its encoder files are absent.
    """
    import torch
    import yaml
    from comet.models import str2model

    _quiet_lightning()
    install_compat()
    ckpt = resolve_checkpoint(path_or_hub_id)
    hparams_file = ckpt.parents[1] / "hparams.yaml"
    try:
        hparams = yaml.safe_load(hparams_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise MissingResourceError(f"{hparams_file}: not valid YAML ({err}); {HOW_TO_GET}") from None
    ident = hparams.get("class_identifier")
    if ident not in str2model:
        raise MissingResourceError(
            f"{hparams_file}: class_identifier {ident!r} is not a COMET model class ({', '.join(str2model)})"
        )
    if local_files_only is None:
        local_files_only = os.environ.get("HF_HUB_OFFLINE", "0") == "1" or bool(encoder and Path(encoder).is_dir())
    kwargs: dict = {
        "checkpoint_path": str(ckpt),
        # Weights come from the COMET checkpoint; only tokenizer + config are read.
        "load_pretrained_weights": False,
        "map_location": torch.device("cpu"),
        "strict": False,
        "local_files_only": local_files_only,
    }
    if encoder:
        kwargs["pretrained_model"] = str(encoder)
    if hparams.get("layer_transformation") == "sparsemax_patch":
        # unbabel-comet >= 2.2.4 loads these checkpoints with softmax (its issue #244).
        kwargs["layer_transformation"] = "softmax"
    enc_name = encoder or hparams.get("pretrained_model")
    try:
        model = str2model[ident].load_from_checkpoint(**kwargs)
    except (OSError, ValueError) as err:
        raise MissingResourceError(
            f"COMET checkpoint {ckpt}: cannot load its encoder tokenizer/config {enc_name!r} ({err}); put it in the "
            f"Hugging Face cache or pass a local directory with it (eval.comet_encoder / --comet-encoder)"
        ) from None
    _add_special_tokens_pair(model.encoder)
    model.eval()
    return model


def requires_reference(model: Any) -> bool:
    """Whether the model cannot score without a reference (COMET-22: yes; CometKiwi: no)."""
    from comet.models import ReferencelessRegression, UnifiedMetric

    return not isinstance(model, (ReferencelessRegression, UnifiedMetric))


def uses_reference(model: Any) -> bool:
    """Whether the model reads a reference when one is given (XCOMET does, CometKiwi not)."""
    from comet.models import ReferencelessRegression, UnifiedMetric

    if isinstance(model, ReferencelessRegression):
        return False
    if isinstance(model, UnifiedMetric):
        return "ref" in model.hparams.input_segments
    return True


def comet_predict(
    model: Any,
    samples: list[dict],
    batch_size: int = 8,
    gpus: Optional[int] = None,
    progress_bar: bool = False,
) -> list[float]:
    """Score segments; one float per sample, in input order.

    Args:
        model: from :func:`load_comet`.
        samples: dicts with ``src``, ``mt`` and (reference-based models) ``ref``.
        batch_size: segments per forward pass.
        gpus: number of GPUs; ``None``: 1 when CUDA is available, else CPU.
        progress_bar: show unbabel-comet's progress bar.

    Raises:
        DataError: a sample lacks a key the model needs.
    """
    import torch

    if not samples:
        return []
    needs = ["src", "mt"] + (["ref"] if requires_reference(model) else [])
    for i, s in enumerate(samples):
        missing = [k for k in needs if not isinstance(s.get(k), str)]
        if missing:
            raise DataError(f"COMET sample {i}: missing text for {missing} (the model needs {needs})")
    keys = ["src", "mt"] + (["ref"] if uses_reference(model) and all(isinstance(s.get("ref"), str) for s in samples) else [])
    if gpus is None:
        gpus = 1 if torch.cuda.is_available() else 0
    _quiet_lightning()
    # comet's predict(gpus=0) still builds a Trainer; num_workers=0 avoids
    # forking dataloader workers on CPU-only machines.
    pred = model.predict(
        [{k: s[k] for k in keys} for s in samples],
        batch_size=batch_size,
        gpus=gpus,
        progress_bar=progress_bar,
        num_workers=0 if gpus == 0 else None,
    )
    return [float(x) for x in pred.scores]
