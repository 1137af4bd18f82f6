"""``lmt eval``: translate FLORES directions, score them, write the reports.

Layout of the output directory (default ``<run_dir>/eval``)::

    generation.json              settings the hypotheses were made with
    hyps/{src}-{tgt}.txt         one hypothesis per line (written atomically)
    hyps/aux/{src}-{aux}.txt     PMP-S: the self-generated auxiliary sentences
    scores/{src}-{tgt}.json      metrics + signatures + empty-hypothesis count; file
                                 paths relative to the output directory (FLORES: absolute)
    skipped.json                 directions left out because FLORES lacks a language
    report.md, report.csv, heatmap_<metric>.png

A rerun skips directions whose hypotheses exist (an interrupted run resumes)
and rescoring is skipped when the scores file matches the hypotheses. The
scorers (COMET, language ID) load before anything is translated, so a model
that cannot be loaded stops the run at once. A language that no FLORES
directory has is skipped with a warning (its directions are listed in the
report) unless ``eval.strict``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Optional

from eval.flores import HOW_TO_GET, FloresSet, how_to_add, read_text_lines
from eval.metrics import SACREBLEU_METRICS, add_bootstrap, comet_scores, comet_signature, sacrebleu_scores
from eval.offtarget import OffTargetDetector, prep_lid_settings
from lmt.generation.base import EMPTY_HYP, is_blank
from eval.prompting import check_pmp_template, render_many
from eval.report import write_reports
from lmt.aux_map import AuxMap
from lmt.config import ExperimentConfig
from lmt.config.experiment import writer_command
from lmt.config.eval import EvalConfig
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.io import content_hash, file_fingerprint, read_json, write_json_atomic, write_text_atomic
from lmt.languages import Direction, language_name, parse_directions
from lmt.log import get_logger, progress
from lmt.prompts import get_template

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
        self.metrics += ["off_target"] if ec.off_target else []
        self.lid_settings = {**prep_lid_settings(cfg), **({"model_path": ec.lid_model} if ec.lid_model else {})}
        if "comet" in self.metrics and not ec.comet_model:
            raise ConfigError(
                f"{cfg.source}: eval.metrics has comet but eval.comet_model is unset: give a local COMET checkpoint "
                "directory or a hub id such as Unbabel/wmt22-comet-da"
            )
        if not ec.flores_dir:
            raise MissingResourceError(f"{cfg.source}: eval.flores_dir is not set: {HOW_TO_GET}")
        self.flores = FloresSet.discover([ec.flores_dir, *ec.extra_flores_dirs], ec.split)
        self.skipped: dict[str, str] = {}
        self.directions = self._available(self.directions)
        n_all = self.flores.check(sorted({lang for d in self.directions for lang in self._languages(d)}))
        self.n = min(n_all, ec.max_sentences) if ec.max_sentences else n_all
        self._engine = engine
        self._comet = comet_model
        self._detector: Optional[OffTargetDetector] = None
        self._comet_signature: Optional[str] = None
        self._fresh_aux: set[Path] = set()

    def _languages(self, d: Direction) -> list[str]:
        """FLORES languages a direction reads (PMP-O: the auxiliary one too)."""
        aux = self.aux_map.aux_language(d.src, d.tgt) if self.ec.pmp == "oracle" else None
        return [d.src, d.tgt] + ([aux] if aux else [])

    def _available(self, directions: list[Direction]) -> list[Direction]:
        """Directions whose languages FLORES has; the others are skipped with a warning (unless strict)."""
        needed = sorted({lang for d in directions for lang in self._languages(d)})
        missing = self.flores.missing(needed)
        if not missing:
            return directions
        if self.ec.strict:
            self.flores.check(needed)  # raises, naming the missing languages
        roots = ", ".join(map(str, self.flores.roots))
        for code in missing:
            log.warning(
                "FLORES %s has no file for %s (%s) in %s: its directions are skipped; %s (eval.strict=true makes "
                "this an error)", self.ec.split, code, language_name(code), roots, how_to_add(code, self.ec.split),
            )  # fmt: skip
        keep = []
        for d in directions:
            lack = [lang for lang in self._languages(d) if lang in missing]
            if lack:
                self.skipped[str(d)] = f"no FLORES {self.ec.split} file for {', '.join(lack)}"
            else:
                keep.append(d)
        if not keep:
            raise MissingResourceError(
                f"{self.cfg.source}: FLORES {self.ec.split} has none of the directions' languages "
                f"{', '.join(missing)} (searched {roots}); {HOW_TO_GET}"
            )
        log.warning("%d of %d directions skipped (listed in the report)", len(self.skipped), len(directions))
        return keep

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
        # The template's definition (text, chat use and arguments): a change means new prompts.
        template = dataclasses.asdict(get_template(self.ec.prompt, self.ec.use_chat_template))
        data["prompt_template"] = json.loads(json.dumps(template))  # as generation.json stores it
        data["n_segments"] = self.n
        return data

    # -- lazy resources --------------------------------------------------------
    @property
    def engine(self) -> Any:
        if self._engine is None:
            from lmt.generation import make_engine

            if not self.ec.model and not Path(self.model_path).exists():
                train = writer_command(self.cfg, self.model_path, "sft")
                raise MissingResourceError(
                    f"no model to evaluate: {self.model_path} does not exist ({f'train it with {train}, or ' if train else ''}"
                    "set eval.model to a local directory or hub id such as NiuTrans/LMT-60-4B)"
                )
            self._engine = make_engine(self.ec, self.model_path, self.ec.tokenizer)
        return self._engine

    @property
    def comet(self) -> Any:
        if self._comet is None:
            from lmt.comet import load_comet

            self._comet = load_comet(self.ec.comet_model, encoder=self.ec.comet_encoder)
        return self._comet

    @property
    def comet_sig(self) -> str:
        """The COMET signature of this run (model, checkpoint checksum, batch size, GPUs, version)."""
        if self._comet_signature is None:
            self._comet_signature = comet_signature(self.ec.comet_model, self.ec.comet_batch_size, self.ec.comet_gpus)
        return self._comet_signature

    @property
    def detector(self) -> OffTargetDetector:
        if self._detector is None:
            self._detector = OffTargetDetector(self.lid_settings)
        return self._detector

    def _load_scorers(self) -> None:
        """Load COMET and the language ID before translating: a missing model stops the run here."""
        if "off_target" in self.metrics:
            self.detector
        if "comet" not in self.metrics or not any(self._needs_comet(d) for d in self.directions):
            return
        try:
            self.comet
            self.comet_sig
        except MissingResourceError as err:
            raise MissingResourceError(
                f"{self.cfg.source}: the COMET model eval.comet_model={self.ec.comet_model} cannot be loaded, so "
                f"nothing was translated: {err}. Point eval.comet_model at a local copy (e.g. `huggingface-cli download "
                "Unbabel/wmt22-comet-da --local-dir DIR`, then eval.comet_model=DIR; offline also "
                "eval.comet_encoder=<local dir with xlm-roberta-large's tokenizer and config>), or turn COMET off "
                "with eval.comet_model=null"
            ) from None

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
        prompts = render_many(
            self.engine.tokenizer, self.ec.prompt, d.src, aux_lang, srcs, use_chat_template=self.ec.use_chat_template
        )
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
        lid_key = self.lid_settings if "off_target" in self.metrics else None
        settings_key = content_hash(self.ec.bleu_tokenize, self.ec.flores_spm, self.ec.bootstrap, lid_key)
        if old and old.get("hyps_sha256") == sha and old.get("scoring_key") == settings_key:
            if all(m in old.get("metrics", {}) for m in self.metrics) and self._comet_reusable(old):
                return old
        boot = self.ec.bootstrap
        metrics = sacrebleu_scores(
            hyps, refs, d.tgt, [m for m in self.metrics if m in SACREBLEU_METRICS],
            self.ec.bleu_tokenize, self.ec.flores_spm, boot,
        )  # fmt: skip
        if "comet" in self.metrics:
            if old and old.get("hyps_sha256") == sha and self._comet_reusable(old):
                # Same hypotheses, same model: only the interval may need redoing.
                metrics["comet"] = add_bootstrap(dict(old["metrics"]["comet"]), boot)
            else:
                res = comet_scores(self.comet, srcs, hyps, refs, self.ec.comet_batch_size, self.ec.comet_gpus, boot)
                metrics["comet"] = {"model": self.ec.comet_model, "signature": self.comet_sig, **res}
        if "off_target" in self.metrics:
            metrics["off_target"] = add_bootstrap(self.detector.score(hyps, d.tgt), boot)
        result = {
            "direction": str(d),
            "src_lang": d.src,
            "tgt_lang": d.tgt,
            "group": d.group,
            "tier": d.tier,
            "split": self.ec.split,
            "n_segments": len(hyps),
            "n_empty_hyps": count_empty(hyps),
            # The hypotheses relative to the output directory (resolved from the
            # score file's location, see eval.report.record_file); FLORES absolute.
            "files": {
                "hyp": hyp_file.relative_to(self.out).as_posix(),
                "ref": str(self.flores.path(d.tgt).resolve()),
                "src": str(self.flores.path(d.src).resolve()),
            },
            "hyps_sha256": sha,
            "scoring_key": settings_key,
            "generation": self.generation_settings(),
            "metrics": metrics,
        }
        write_json_atomic(path, result)
        return result

    def _needs_comet(self, d: Direction) -> bool:
        """Whether a direction still needs COMET scoring (no reusable result for its hypotheses)."""
        path, hyp = self.score_path(d), self.hyp_path(d)
        if not (path.is_file() and hyp.is_file() and self.is_done(d)):
            return True
        old = read_json(path)
        return old.get("hyps_sha256") != _sha(hyp) or not self._comet_reusable(old)

    def _comet_reusable(self, old: dict) -> bool:
        """An old score file's COMET result can stay (same model; has a signature)."""
        if "comet" not in self.metrics:
            return True
        prev = old.get("metrics", {}).get("comet") or {}
        return prev.get("model") == self.ec.comet_model and "signature" in prev and "segments" in prev

    def run(self) -> Path:
        """Translate what is missing, score everything, write the reports.

        Raises:
            RunLockedError: another run is writing the same output directory.
        """
        from lmt.runlock import run_lock

        with run_lock(self.out, f"lmt eval {self.cfg.source}"):
            return self._run()

    def _run(self) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_settings()
        self._load_scorers()
        write_json_atomic(self.out / "skipped.json", self.skipped)
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
