"""Translation rewards for GRPO: named, pluggable, batched.

A reward scores a batch of hypotheses::

    reward(sources, hypotheses, references, src_langs, tgt_langs) -> list[float]

Built in (by name):

* ``comet``: reference-based COMET (COMET-22 by default, as in the paper; any
  checkpoint by path or hub id), batched on the rank's own device;
* ``chrf``: sacrebleu's sentence chrF divided by 100 (no model: CPU runs, tests);
* ``cometkiwi``: reference-free COMET (CometKiwi) quality estimation.

Anything else is a dotted path (``my_pkg.rewards:bleu_reward``) to a callable
with the signature above (keyword arguments). :func:`build_reward` combines the
configured terms into one weighted sum and applies the penalties of
:class:`lmt.config.train.RewardConfig`: empty outputs get 0 and
``-empty_penalty`` (they are never scored), outputs longer than
``runaway_ratio`` x the reference lose ``runaway_penalty``, and outputs that
language ID places in another language lose ``wrong_language_penalty`` (the
language check of :class:`lmt.lid.LanguageCheck`: label maps and
confusables as in data prep and eval).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from lmt.errors import ConfigError
from lmt.plugins import import_dotted, is_dotted_path

RewardFn = Callable[..., list]
BUILTIN = ("comet", "chrf", "cometkiwi")


def clean_hypothesis(text: str) -> str:
    """A completion as a hypothesis: newlines deleted (as evaluation does), whitespace stripped."""
    return text.replace("\r", "").replace("\n", "").strip()


class ChrfReward:
    """sacrebleu sentence chrF / 100 (0..1, comparable in scale with COMET)."""

    def __init__(self) -> None:
        from sacrebleu.metrics import CHRF

        self.metric = CHRF()

    def __call__(self, *, hypotheses: Sequence[str], references: Sequence[str], **_: Any) -> list[float]:
        return [self.metric.sentence_score(h, [r]).score / 100.0 for h, r in zip(hypotheses, references)]


def _to_device(batch: Any, device: Any) -> Any:
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class CometReward:
    """COMET segment scores, computed in this process on ``device``.

    Scoring goes through the model's ``prepare_sample``/``predict_step``
    rather than ``model.predict``: that one builds a Lightning Trainer, which
    would take the training ranks' distributed environment for its own.
    """

    def __init__(self, model_path: str, *, encoder: Optional[str] = None, batch_size: int = 16, reference_free: bool = False, device: Any = None) -> None:
        import torch

        from lmt.comet import load_comet, requires_reference, uses_reference

        self.model = load_comet(model_path, encoder=encoder)
        if not reference_free and not requires_reference(self.model):
            raise ConfigError(f"COMET model {model_path!r} is reference-free (CometKiwi-style): use it as the 'cometkiwi' reward")
        self.use_ref = uses_reference(self.model) and not reference_free
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    def __call__(self, *, sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str], **_: Any) -> list[float]:
        import torch

        keys = ("src", "mt", "ref") if self.use_ref else ("src", "mt")
        samples = [dict(zip(keys, row)) for row in zip(sources, hypotheses, references)]
        scores: list[float] = []
        for i in range(0, len(samples), self.batch_size):
            inputs = _to_device(self.model.prepare_sample(samples[i : i + self.batch_size], stage="predict"), self.device)
            with torch.inference_mode():
                scores.extend(float(x) for x in self.model.predict_step(inputs).scores.float().cpu())
        return scores


def _load_dotted(name: str, key: str) -> RewardFn:
    module_name, attr, fn = import_dotted(name, key, "reward")
    if fn is None or not callable(fn):
        raise ConfigError(f"{key}: module {module_name!r} has no callable {attr!r} (reward {name!r})")
    if inspect.isclass(fn):
        fn = fn()
    return fn


def check_reward_name(name: str, key: str = "train.grpo.reward.terms") -> None:
    """Raise a ConfigError for a reward that is neither built in nor an importable dotted path."""
    if name in BUILTIN:
        return
    if not is_dotted_path(name):
        close = difflib.get_close_matches(name, BUILTIN, n=2, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"{key}: unknown reward {name!r}{hint} (built in: {', '.join(BUILTIN)}; custom rewards load by dotted "
            "path, e.g. my_pkg.rewards:my_reward)"
        )
    _load_dotted(name, key)


def make_term(name: str, cfg: Any, device: Any = None) -> RewardFn:
    """One named reward, built from a :class:`lmt.config.train.RewardConfig`."""
    check_reward_name(name)
    if name == "chrf":
        return ChrfReward()
    if name == "comet":
        return CometReward(cfg.comet_model, encoder=cfg.comet_encoder, batch_size=cfg.comet_batch_size, device=device)
    if name == "cometkiwi":
        return CometReward(
            cfg.cometkiwi_model, encoder=cfg.comet_encoder, batch_size=cfg.comet_batch_size, reference_free=True, device=device
        )
    return _load_dotted(name, "train.grpo.reward.terms")


@dataclass
class RewardBreakdown:
    """Rewards of one batch and what went into them (for logging)."""

    rewards: list[float]
    terms: dict[str, list[float]] = field(default_factory=dict)
    empty: list[bool] = field(default_factory=list)
    runaway: list[bool] = field(default_factory=list)
    wrong_language: list[bool] = field(default_factory=list)


class TranslationReward:
    """Weighted sum of reward terms plus penalties (see module docs)."""

    def __init__(self, terms: dict[str, RewardFn], weights: dict[str, float], cfg: Any, lid: Any = None) -> None:
        self.terms, self.weights, self.cfg, self.lid = terms, weights, cfg, lid

    def score(
        self,
        sources: Sequence[str],
        hypotheses: Sequence[str],
        references: Sequence[str],
        src_langs: Sequence[str],
        tgt_langs: Sequence[str],
    ) -> RewardBreakdown:
        """Score cleaned hypotheses; empty ones are not shown to the reward terms."""
        n = len(hypotheses)
        empty = [not h for h in hypotheses]
        keep = [i for i in range(n) if not empty[i]]
        pick = lambda xs: [xs[i] for i in keep]
        total = [0.0] * n
        per_term: dict[str, list[float]] = {}
        for name, fn in self.terms.items():
            values = [0.0] * n
            if keep:
                scored = fn(
                    sources=pick(sources), hypotheses=pick(hypotheses), references=pick(references),
                    src_langs=pick(src_langs), tgt_langs=pick(tgt_langs),
                )
                if len(scored) != len(keep):
                    raise ValueError(f"reward {name!r} returned {len(scored)} scores for {len(keep)} hypotheses")
                for i, v in zip(keep, scored):
                    values[i] = float(v)
            per_term[name] = values
            total = [t + self.weights[name] * v for t, v in zip(total, values)]
        cfg = self.cfg
        runaway = [len(h) > cfg.runaway_ratio * max(1, len(r)) for h, r in zip(hypotheses, references)]
        wrong = [False] * n
        if cfg.wrong_language_penalty > 0 and self.lid is not None and keep:
            ok = self.lid.is_language(pick(hypotheses), pick(tgt_langs))
            for i, good in zip(keep, ok):
                wrong[i] = not good
        for i in range(n):
            total[i] -= cfg.empty_penalty * empty[i] + cfg.runaway_penalty * runaway[i] + cfg.wrong_language_penalty * wrong[i]
        return RewardBreakdown(total, per_term, empty, runaway, wrong)


def _language_check(cfg: Any) -> Any:
    from lmt.lid import LanguageCheck

    return LanguageCheck(cfg.lid_model, setting="train.grpo.reward.lid_model")


def build_reward(cfg: Any, device: Any = None) -> TranslationReward:
    """The configured reward (loads COMET models and the LID model as needed)."""
    if not cfg.terms:
        raise ConfigError("train.grpo.reward.terms is empty: give at least one reward, e.g. {comet: 1.0}")
    terms = {name: make_term(name, cfg, device) for name in cfg.terms}
    lid = None
    if cfg.wrong_language_penalty > 0:
        lid = _language_check(cfg)
    return TranslationReward(terms, dict(cfg.terms), cfg, lid)


def check_reward_config(cfg: Any) -> None:
    """Checks before any launcher starts: known names, COMET checkpoints that load, an LID model that loads."""
    if not cfg.terms:
        raise ConfigError("train.grpo.reward.terms is empty: give at least one reward, e.g. {comet: 1.0}")
    for name in cfg.terms:
        check_reward_name(name)
    from lmt.comet import load_comet, requires_reference
    from lmt.errors import LMTError, MissingResourceError

    for name, path in (("comet", cfg.comet_model), ("cometkiwi", cfg.cometkiwi_model)):
        if name in cfg.terms:
            try:
                model = load_comet(path, encoder=cfg.comet_encoder)
            except LMTError:
                raise
            except Exception as err:  # a corrupt checkpoint: torch/Lightning raise many kinds
                raise MissingResourceError(
                    f"train.grpo.reward.{name}_model {path!r} does not load as a COMET checkpoint: {type(err).__name__}: {err}"
                ) from None
            if name == "comet" and not requires_reference(model):
                raise ConfigError(f"train.grpo.reward.comet_model {path!r} is reference-free: use it as 'cometkiwi'")
            del model
    if cfg.wrong_language_penalty > 0:
        _language_check(cfg).identifier.model  # loads the model: a broken file fails here
