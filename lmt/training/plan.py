"""The training plan: what a stage will do, in the paper's terms, before it does it.

``lmt train cpt|sft CONFIG --dry-run`` prints it from a sample of the data
(:mod:`lmt.training.estimate`); the recipe prints the same lines, measured on
the built data, at the top of the training log. The lines::

    [plan sft] data: 567,012 examples, 61.2M tokens (41.0M loss tokens)
    [plan sft] step: 1,024 examples = 118.4 packed rows of 1,024 tokens (max 124), 110.6K tokens; 16 ranks x 8 rows x 1 micro-steps
    [plan sft] steps: 554 = 1.00 epochs over the examples; warm-up 6 steps
    [plan sft] prompts en2x: 50.3% PMP / 49.7% STP (no aux sentence: 1.2%) ...
    [plan cpt] mixture (tokens): monolingual 33.4%, zh_centric 33.3%, en_centric 33.3%
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from lmt.training.schedule import Steps

PMP_WARN_SHARE = 0.40
GROUP_ORDER = ("en2x", "zh2x", "x2en", "x2zh", "other")


def _n(x: float) -> str:
    """``1234567 -> '1.23M'``, ``82323.5 -> '82.3K'``, ``950 -> '950'``."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= max(div, 1e4):
            return f"{x / div:.3g}{suffix}" if suffix != "K" else f"{x / div:.1f}K"
    return f"{x:,.0f}"


def pmp_group_shares(per_direction: dict[str, dict[str, int]]) -> dict[str, dict]:
    """Per direction group: records, PMP share and the reasons records got the plain prompt.

    Args:
        per_direction: ``"src-tgt" -> {reason: count}`` with the reasons of
            :func:`lmt.training.pmp.choose_prompt` (``pmp``, ``stp_by_share``, ``no_aux_sentence`` ...).
    """
    from lmt.languages import Direction

    groups: dict[str, dict] = {}
    for name, reasons in per_direction.items():
        g = groups.setdefault(Direction.parse(name).group, {"records": 0, "pmp": 0, "reasons": {}})
        for why, n in reasons.items():
            g["records"] += n
            g["reasons"][why] = g["reasons"].get(why, 0) + n
            if why == "pmp":
                g["pmp"] += n
    for g in groups.values():
        g["pmp_share"] = g["pmp"] / g["records"] if g["records"] else 0.0
    return {k: groups[k] for k in sorted(groups, key=lambda k: GROUP_ORDER.index(k) if k in GROUP_ORDER else 99)}


def pmp_warnings(groups: dict[str, dict], configured: dict[str, float]) -> list[str]:
    """A warning per group whose realised PMP share is under 40% while its configured share is not.

    A small group under 40% only by the seeded draw (every record could have had PMP) is not warned about.

    Args:
        groups: :func:`pmp_group_shares`.
        configured: ``{"forward": share, "reverse": share}`` (0 for both when PMP is off).
    """
    out = []
    for name, g in groups.items():
        want = configured["reverse"] if name in ("x2en", "x2zh") else configured["forward"]
        fallback = {k: v for k, v in g["reasons"].items() if k not in ("pmp", "stp_by_share")}
        # Below 40% by the draw alone happens to small groups; the warning is about records that cannot get PMP.
        if g["records"] and want >= PMP_WARN_SHARE and g["pmp_share"] < PMP_WARN_SHARE and (fallback or g["records"] >= 1000):
            why = ", ".join(f"{k} {100 * v / g['records']:.1f}%" for k, v in sorted(fallback.items(), key=lambda kv: -kv[1]))
            out.append(
                f"PMP share of {name} is {100 * g['pmp_share']:.1f}% (configured {100 * want:.0f}%, warning below "
                f"{100 * PMP_WARN_SHARE:.0f}%): records fell back to the plain prompt ({why or 'by share'}); "
                "prep attaches auxiliary sentences from the multi-way data (prep.pivot.attach_aux), see `lmt stats`"
            )
    return out


@dataclass
class TrainingPlan:
    """Figures of one stage's run (see module docs).

    Attributes:
        stage: ``cpt`` or ``sft``.
        unit: what the global batch counts: ``examples`` (SFT) or ``sequences`` (CPT).
        units: units in the data (examples, or packed sequences).
        tokens: non-pad tokens in the data; ``loss_tokens`` those with loss.
        per_step: units per optimizer step.
        rows_per_step: packed rows per step (mean, max).
        max_length: packed row length.
        world, micro_batch, grad_accum: ranks, rows per rank per micro-step, micro-steps per step.
        steps: :class:`lmt.training.schedule.Steps`.
        mixture: CPT parts -> tokens.
        prompts: SFT direction groups (:func:`pmp_group_shares`).
        source: ``measured`` or how it was estimated.
        warnings: things the user should know before spending GPU time.
    """

    stage: str
    unit: str
    units: int
    tokens: float
    loss_tokens: float
    per_step: int
    rows_per_step: tuple[float, int]
    max_length: int
    world: int
    micro_batch: int
    grad_accum: int
    steps: Steps
    mixture: dict[str, float] = field(default_factory=dict)
    prompts: dict[str, dict] = field(default_factory=dict)
    source: str = "measured"
    warnings: list[str] = field(default_factory=list)

    @property
    def tokens_per_step(self) -> float:
        """Non-pad tokens per step (SFT: mean over the data; CPT: the token budget)."""
        if self.unit == "sequences":
            return float(self.per_step * self.max_length)
        return self.tokens / self.units * self.per_step if self.units else 0.0

    def mixture_shares(self) -> dict[str, float]:
        """CPT parts -> share of the mixture's tokens."""
        total = sum(self.mixture.values())
        return {k: v / total for k, v in self.mixture.items()} if total else {}

    def lines(self) -> list[str]:
        """The plan as printable lines (dry run and training log alike)."""
        p = f"[plan {self.stage}]"
        s = self.steps
        mean_rows, max_rows = self.rows_per_step
        out = [f"{p} figures {self.source}"]
        if self.unit == "examples":
            out.append(f"{p} data: {self.units:,} examples, {_n(self.tokens)} tokens ({_n(self.loss_tokens)} loss tokens)")
            out.append(
                f"{p} step: {self.per_step:,} examples (global batch) = {mean_rows:.1f} packed rows of {self.max_length:,} "
                f"tokens on average (max {max_rows}), {_n(self.tokens_per_step)} tokens; "
                f"{self.world} rank(s) x {self.micro_batch} row(s) x {self.grad_accum} micro-step(s)"
            )
        else:
            out.append(f"{p} data: {self.units:,} sequences of {self.max_length:,} tokens, {_n(self.tokens)} tokens")
            out.append(
                f"{p} step: {self.per_step:,} sequences x {self.max_length:,} tokens = {_n(self.tokens_per_step)} tokens "
                f"(global batch); {self.world} rank(s) x {self.micro_batch} row(s) x {self.grad_accum} micro-step(s)"
            )
        how = "max_steps" if s.total != s.from_epochs else f"epochs={s.configured_epochs:g}"
        out.append(
            f"{p} steps: {s.total:,} ({how}: {s.total * self.per_step:,} {self.unit} drawn from {self.units:,} = "
            f"{s.epochs:.2f} epoch(s)), {_n(s.total * self.tokens_per_step)} tokens; warm-up {s.warmup:,} steps"
        )
        if self.mixture:
            shares = ", ".join(f"{k} {100 * v:.1f}%" for k, v in self.mixture_shares().items())
            out.append(f"{p} mixture in tokens: {shares}")
        for name, g in self.prompts.items():
            other = {k: v for k, v in g["reasons"].items() if k not in ("pmp", "stp_by_share")}
            extra = "".join(f", {k} {100 * v / g['records']:.1f}%" for k, v in sorted(other.items()))
            out.append(
                f"{p} prompts {name}: {g['records']:,} records, PMP {100 * g['pmp_share']:.1f}% / "
                f"STP {100 * (1 - g['pmp_share']):.1f}%{extra}"
            )
        for w in ([s.warning] if s.warning else []) + self.warnings:
            out.append(f"{p} WARNING: {w}")
        return out

    def as_dict(self) -> dict:
        """JSON-ready form (stored in ``train_state.json``)."""
        return {
            "stage": self.stage, "unit": self.unit, "units": self.units, "tokens": self.tokens,
            "loss_tokens": self.loss_tokens, "per_step": self.per_step, "rows_per_step": list(self.rows_per_step),
            "tokens_per_step": self.tokens_per_step, "steps": self.steps.total, "epochs": self.steps.epochs,
            "warmup_steps": self.steps.warmup, "grad_accum": self.grad_accum, "mixture_shares": self.mixture_shares(),
            "prompts": self.prompts, "source": self.source, "warnings": ([self.steps.warning] if self.steps.warning else []) + self.warnings,
        }


def stage_steps(stage_cfg, steps_per_epoch: float) -> Steps:
    """:func:`lmt.training.schedule.plan_steps` for a stage config (``epochs`` counts as given when set in the YAML)."""
    from lmt.training.schedule import plan_steps

    return plan_steps(
        steps_per_epoch, stage_cfg.epochs, stage_cfg.max_steps, stage_cfg.warmup_ratio,
        epochs_given="epochs" in stage_cfg.model_fields_set,
    )


def configured_pmp(stage_cfg) -> dict[str, float]:
    """``{"forward", "reverse"}`` PMP shares of an SFT config (0 when PMP is off)."""
    on = stage_cfg.pmp.enabled
    return {"forward": stage_cfg.pmp.forward_share if on else 0.0, "reverse": stage_cfg.pmp.reverse_share if on else 0.0}


def measured_plan(stage_name: str, stage_cfg, data, batches, world: int, steps: Optional[Steps] = None) -> TrainingPlan:
    """The plan of a run from its built data (:class:`lmt.training.data.TrainingData`) and batches."""
    st = data.stats
    steps = steps or stage_steps(stage_cfg, batches.steps_per_epoch)
    if stage_name == "sft":
        rows = batches.rows_per_step or [0]
        prompts = pmp_group_shares(st.get("prompt_reasons_by_direction", {}))
        return TrainingPlan(
            stage="sft", unit="examples", units=st["examples"], tokens=st["tokens"], loss_tokens=st["loss_tokens"],
            per_step=batches.per_step, rows_per_step=(sum(rows) / len(rows), max(rows)), max_length=stage_cfg.max_length,
            world=world, micro_batch=stage_cfg.micro_batch_size, grad_accum=batches.grad_accum, steps=steps,
            prompts=prompts, warnings=pmp_warnings(prompts, configured_pmp(stage_cfg)),
        )
    return TrainingPlan(
        stage="cpt", unit="sequences", units=st["rows"], tokens=st["real_tokens"], loss_tokens=st["loss_tokens"],
        per_step=batches.per_step, rows_per_step=(float(batches.per_step), batches.per_step), max_length=stage_cfg.max_length,
        world=world, micro_batch=stage_cfg.micro_batch_size, grad_accum=batches.grad_accum, steps=steps,
        mixture=st.get("mixture_tokens", {}), warnings=mixture_warnings(st.get("mixture_tokens", {}), stage_cfg),
    )


def mixture_warnings(mixture_tokens: dict[str, float], stage_cfg) -> list[str]:
    """A warning when a CPT part's token share is more than 5% (relative) off its configured weight."""
    total = sum(mixture_tokens.values())
    weights = {k: v for k, v in stage_cfg.mix.model_dump().items() if k in mixture_tokens}
    wsum = sum(weights.values())
    out = []
    for part, tok in mixture_tokens.items():
        want = weights.get(part, 0) / wsum if wsum else 0
        if total and want and abs(tok / total - want) > 0.05 * want:
            out.append(f"CPT part {part} has {100 * tok / total:.1f}% of the tokens, configured {100 * want:.1f}%")
    return out
