"""``lmt eval``: translate FLORES directions, score them, write the reports.

Layout of the output directory (default ``<run_dir>/eval``)::

    generation.json              settings the hypotheses were made with
    hyps/{src}-{tgt}.txt         one hypothesis per line (written atomically)
    hyps/aux/{src}-{aux}.txt     PMP-S: the self-generated auxiliary sentences
    scores/{src}-{tgt}.json      metrics + signatures + empty-hypothesis count
    report.md, report.csv, heatmap_<metric>.png

A rerun skips directions whose hypotheses exist (an interrupted run resumes)
and rescoring is skipped when the scores file matches the hypotheses.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional

from lmt.generation.base import EMPTY_HYP, is_blank
from eval.flores import HOW_TO_GET, FloresSet, read_text_lines
from eval.metrics import SACREBLEU_METRICS, comet_scores, sacrebleu_scores
from eval.prompting import check_pmp_template, render_many
from eval.report import write_reports
from lmt.aux_map import AuxMap
from lmt.config import ExperimentConfig
from lmt.config.eval import EvalConfig
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.io import content_hash, file_fingerprint, read_json, write_json_atomic, write_text_atomic
from lmt.languages import Direction, parse_directions
from lmt.log import get_logger, progress

log = get_logger("lmt.eval")

GENERATION_KEYS = (
    "model", "tokenizer", "prompt", "use_chat_template", "pmp", "num_beams", "max_new_tokens",
    "do_sample", "split", "max_sentences",
)  # fmt: skip


def read_lines(path: "str | Path") -> list[str]:
    """Lines of a UTF-8 text file (no trailing newline); bad bytes name file and line."""
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"file {path} does not exist")
    return read_text_lines(path)


def write_lines(path: "str | Path", lines: list[str]) -> None:
    """Write one line per item atomically (newlines inside items would misalign files)."""
    bad = [i for i, line in enumerate(lines) if "\n" in line]
    if bad:
        raise DataError(f"{path}: line {bad[0] + 1} contains a newline")
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def count_empty(hyps: list[str]) -> int:
    """Hypotheses that were empty (written as ``#`` by the cleaning step, or blank)."""
    return sum(1 for h in hyps if h == EMPTY_HYP or is_blank(h))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class EvalRun:
    """One evaluation: settings, FLORES data, output paths, lazy engine and COMET."""

    def __init__(self, cfg: ExperimentConfig, engine: Any = None, comet_model: Any = None) -> None:
        self.cfg = cfg
        self.ec: EvalConfig = cfg.require("eval")
        ec = self.ec
        self.out = Path(ec.output_dir) if ec.output_dir else cfg.stage_dir("eval")
        self.model_path = ec.model or str(cfg.stage_dir("sft") / "final")
        self.directions: list[Direction] = parse_directions(ec.directions)
        if not self.directions:
            raise ConfigError(f"{cfg.source}: eval.directions selects no direction")
        check_pmp_template(ec.prompt, ec.pmp)
        self.aux_map = AuxMap.load(cfg.aux_map)
        self.metrics = list(ec.metrics) + (["comet"] if ec.comet_model and "comet" not in ec.metrics else [])
        if "comet" in self.metrics and not ec.comet_model:
            raise ConfigError(
                f"{cfg.source}: eval.metrics has comet but eval.comet_model is unset: give a local COMET checkpoint "
                "directory or a hub id such as Unbabel/wmt22-comet-da"
            )
        if not ec.flores_dir:
            raise MissingResourceError(f"{cfg.source}: eval.flores_dir is not set: {HOW_TO_GET}")
        self.flores = FloresSet.discover([ec.flores_dir, *ec.extra_flores_dirs], ec.split)
        needed = {lang for d in self.directions for lang in (d.src, d.tgt)}
        if ec.pmp == "oracle":
            needed |= {a for d in self.directions if (a := self.aux_map.aux_language(d.src, d.tgt))}
        n_all = self.flores.check(sorted(needed))
        self.n = min(n_all, ec.max_sentences) if ec.max_sentences else n_all
        self._engine = engine
        self._comet = comet_model
        self._fresh_aux: set[Path] = set()

    # -- paths ---------------------------------------------------------------
    def hyp_path(self, d: Direction) -> Path:
        return self.out / "hyps" / f"{d}.txt"

    def score_path(self, d: Direction) -> Path:
        return self.out / "scores" / f"{d}.json"

    def generation_settings(self) -> dict:
        data = {k: getattr(self.ec, k) for k in GENERATION_KEYS}
        data["model"] = self.model_path
        # Retraining into the same directory must not resume with stale hypotheses.
        weights = sorted(Path(self.model_path).glob("*.safetensors")) + sorted(Path(self.model_path).glob("*.bin"))
        data["model_weights"] = [file_fingerprint(w) for w in weights if w.is_file()]
        data["aux_map"] = self.cfg.aux_map
        data["n_segments"] = self.n
        return data

    # -- lazy resources --------------------------------------------------------
    @property
    def engine(self) -> Any:
        if self._engine is None:
            from lmt.generation import make_engine

            if not self.ec.model and not Path(self.model_path).exists():
                raise MissingResourceError(
                    f"no model to evaluate: {self.model_path} does not exist (run `lmt train sft {self.cfg.source}` "
                    "first, or set eval.model to a local directory or hub id such as NiuTrans/LMT-60-4B)"
                )
            self._engine = make_engine(self.ec, self.model_path, self.ec.tokenizer)
        return self._engine

    @property
    def comet(self) -> Any:
        if self._comet is None:
            from lmt.comet import load_comet

            self._comet = load_comet(self.ec.comet_model, encoder=self.ec.comet_encoder)
        return self._comet

    # -- stages ------------------------------------------------------------------
    def _check_settings(self) -> None:
        path = self.out / "generation.json"
        now = self.generation_settings()
        if path.is_file() and not self.ec.overwrite:
            before = read_json(path)
            changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
            if changed and any(self.hyp_path(d).exists() for d in self.directions):
                raise ConfigError(
                    f"{self.out}: existing hypotheses were made with other settings ({', '.join(changed)}); "
                    "set eval.overwrite=true (or --overwrite) to redo them, or choose another eval.output_dir"
                )
        write_json_atomic(path, now)

    def is_done(self, d: Direction) -> bool:
        p = self.hyp_path(d)
        return p.is_file() and not self.ec.overwrite and len(read_lines(p)) == self.n

    def _aux_sentences(self, d: Direction, srcs: list[str]) -> tuple[Optional[str], Optional[list[str]]]:
        if self.ec.pmp == "none":
            return None, None
        aux_lang = self.aux_map.aux_language(d.src, d.tgt)
        if aux_lang is None:  # the map is partial: plain prompt, as in the paper
            return None, None
        if self.ec.pmp == "oracle":
            return aux_lang, self.flores.sentences(aux_lang)[: self.n]
        # PMP-S pass 1: the model translates the source into the auxiliary language.
        path = self.out / "hyps" / "aux" / f"{d.src}-{aux_lang}.txt"
        reuse = path.is_file() and (path in self._fresh_aux or not self.ec.overwrite)
        if reuse and len(lines := read_lines(path)) == self.n:
            return aux_lang, lines
        prompts = render_many(self.engine.tokenizer, self.ec.prompt, d.src, aux_lang, srcs, use_chat_template=self.ec.use_chat_template)
        aux = self.engine.generate(prompts, desc=f"{d.src}-{aux_lang} (PMP-S auxiliary)")
        write_lines(path, aux)
        self._fresh_aux.add(path)
        return aux_lang, aux

    def translate(self, d: Direction) -> list[str]:
        """Translate one direction (PMP-S: two passes) and save the hypotheses."""
        srcs = self.flores.sentences(d.src)[: self.n]
        aux_lang, aux = self._aux_sentences(d, srcs)
        prompts = render_many(
            self.engine.tokenizer, self.ec.prompt, d.src, d.tgt, srcs, aux_lang=aux_lang, aux=aux,
            use_chat_template=self.ec.use_chat_template,
        )  # fmt: skip
        hyps = self.engine.generate(prompts, desc=str(d))
        write_lines(self.hyp_path(d), hyps)
        return hyps

    def score(self, d: Direction) -> dict:
        """Score one direction's saved hypotheses (reusing a matching scores file)."""
        hyp_file, path = self.hyp_path(d), self.score_path(d)
        hyps = read_lines(hyp_file)
        refs = self.flores.sentences(d.tgt)[: self.n]
        srcs = self.flores.sentences(d.src)[: self.n]
        if len(hyps) != len(refs):
            raise DataError(
                f"{hyp_file} has {len(hyps)} lines but {len(refs)} are expected "
                f"(the first {self.n} lines of the reference {self.flores.path(d.tgt)})"
            )
        sha = _sha(hyp_file)
        old = read_json(path) if path.is_file() else None
        settings_key = content_hash(self.ec.bleu_tokenize, self.ec.flores_spm, self.ec.bootstrap)
        if old and old.get("hyps_sha256") == sha and old.get("scoring_key") == settings_key:
            have = old.get("metrics", {})
            comet_ok = "comet" not in self.metrics or have.get("comet", {}).get("model") == self.ec.comet_model
            if all(m in have for m in self.metrics) and comet_ok:
                return old
        metrics = sacrebleu_scores(
            hyps, refs, d.tgt, [m for m in self.metrics if m in SACREBLEU_METRICS],
            self.ec.bleu_tokenize, self.ec.flores_spm, self.ec.bootstrap,
        )  # fmt: skip
        if "comet" in self.metrics:
            prev = (old or {}).get("metrics", {}).get("comet")
            if old and old.get("hyps_sha256") == sha and prev and prev.get("model") == self.ec.comet_model:
                metrics["comet"] = prev
            else:
                res = comet_scores(self.comet, srcs, hyps, refs, self.ec.comet_batch_size, self.ec.comet_gpus)
                metrics["comet"] = {"model": self.ec.comet_model, **res}
        result = {
            "direction": str(d),
            "src_lang": d.src,
            "tgt_lang": d.tgt,
            "group": d.group,
            "tier": d.tier,
            "split": self.ec.split,
            "n_segments": len(hyps),
            "n_empty_hyps": count_empty(hyps),
            "files": {"hyp": str(hyp_file), "ref": str(self.flores.path(d.tgt)), "src": str(self.flores.path(d.src))},
            "hyps_sha256": sha,
            "scoring_key": settings_key,
            "generation": self.generation_settings(),
            "metrics": metrics,
        }
        write_json_atomic(path, result)
        return result

    def run(self) -> Path:
        """Translate what is missing, score everything, write the reports."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_settings()
        pending = [d for d in self.directions if not self.is_done(d)]
        done = len(self.directions) - len(pending)
        if done:
            log.info("%d of %d directions already translated: skipped", done, len(self.directions))
        for d in progress(pending, desc="directions", unit="dir"):
            self.translate(d)
        if self._engine is not None and pending:
            self._release_engine()
        for d in progress(self.directions, desc="scoring", unit="dir"):
            self.score(d)
        written = write_reports(self.out, [m for m in self.ec.heatmap_metrics if m in self.metrics], title=f"FLORES-200 {self.ec.split}: {self.cfg.name}")
        log.info("wrote %s", ", ".join(str(p) for p in written))
        return self.out

    def _release_engine(self) -> None:
        # Free GPU memory before COMET loads its encoder on the same device.
        import gc

        import torch

        self._engine = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def run_eval(cfg: ExperimentConfig, engine: Any = None, comet_model: Any = None) -> Path:
    """Run the ``eval:`` section of an experiment; returns the output directory.

    Args:
        cfg: the experiment (``cfg.eval`` required).
        engine: a ready engine (tests, notebooks); default from the config.
        comet_model: a loaded COMET model; default ``load_comet(eval.comet_model)``.
    """
    return EvalRun(cfg, engine=engine, comet_model=comet_model).run()
