"""Quality estimation with a reference-free COMET model (CometKiwi style).

The paper scores its bilingual data with CometKiwi (``wmt22-cometkiwi-da``)
for selection. This filter scores each pair as ``src`` -> ``mt`` (the target
side) through unbabel-comet, batched, and drops pairs under ``min_score``;
with the chain's ``keep_scores`` the score is kept as column ``quality`` so
selection can use it later (``min_score: null`` scores without dropping).

The model comes from a local checkpoint (directory with
``checkpoints/model.ckpt`` + ``hparams.yaml``, or the ``.ckpt`` file) or a hub
id the user names; it is loaded once per process, on first use.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from data_prep.filters.base import Filter, check_range, register_filter

_MODELS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _load(model: str, encoder: Optional[str]) -> Any:
    key = (model, encoder)
    if key not in _MODELS:
        with _LOCK:
            if key not in _MODELS:
                from lmt.comet import load_comet, requires_reference

                loaded = load_comet(model, encoder=encoder)
                if requires_reference(loaded):
                    from lmt.errors import ConfigError

                    raise ConfigError(
                        f"quality filter: COMET model {model!r} needs a reference; use a reference-free "
                        "(CometKiwi-style) model such as Unbabel/wmt22-cometkiwi-da"
                    )
                _MODELS[key] = loaded
    return _MODELS[key]


@register_filter
class QualityFilter(Filter):
    """Reference-free COMET quality estimation of each pair.

    Score: the COMET score of (``src``, ``mt`` = target side). Reason:
    ``low_score``.

    Args:
        model: checkpoint directory, ``.ckpt`` file or hub id (e.g.
            ``Unbabel/wmt22-cometkiwi-da``; downloaded only because you named it).
        encoder: local directory of the encoder's tokenizer/config, when the
            one named in ``hparams.yaml`` is not in the Hugging Face cache.
        min_score: lowest accepted score; ``None`` scores without dropping.
        batch_size: segments per forward pass.
        gpus: GPUs for scoring (``None``: one when CUDA is available, else CPU).
    """

    name = "quality"
    cost = 1000.0

    def __init__(
        self,
        model: str,
        encoder: Optional[str] = None,
        min_score: Optional[float] = 0.5,
        batch_size: int = 32,
        gpus: Optional[int] = None,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be a checkpoint path or hub id, got {model!r}")
        check_range("min_score", min_score, allow_none=True)
        check_range("batch_size", batch_size, 1)
        self.model = model
        self.encoder = encoder
        self.min_score = min_score
        self.batch_size = int(batch_size)
        self.gpus = gpus

    def score(self, pairs: list[dict]) -> list:
        from lmt.comet import comet_predict

        if not pairs:
            return []
        model = _load(self.model, self.encoder)
        samples = [{"src": p["src"], "mt": p["tgt"]} for p in pairs]
        return comet_predict(model, samples, batch_size=self.batch_size, gpus=self.gpus)

    def accept(self, score: float):
        if self.min_score is None or score >= self.min_score:
            return True, ""
        return False, "low_score"

    def columns(self, score: float) -> dict[str, float]:
        return {"quality": float(score)}
