"""``run_synth``: translate monolingual inputs shard by shard, then assemble the corpus.

Each input is read once; each chunk of ``shard_size`` sentences is translated
into every target of its language that has no finished shard yet, checked for
degenerate outputs, and written with its done marker (see
:mod:`data_prep.synth.shards`). The model is loaded only when some shard is
left, so a rerun of a finished synthesis costs a read of the inputs. When every
shard is done, the kept pairs are written as the corpus files
(:mod:`data_prep.synth.outputs`) and ``manifest.json`` records the model, the
prompt, the settings and the counts per direction and drop reason.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any, Iterator, Optional

import pyarrow as pa

from data_prep.synth.degenerate import DegenerateCheck
from data_prep.synth.inputs import MonoInput, resolve_input
from data_prep.synth.outputs import write_outputs
from data_prep.synth.shards import WORK, Shard, chunks, read_marker
from lmt.config import ExperimentConfig
from lmt.config.synth import SynthConfig
from lmt.datafiles import PARALLEL_DIR
from lmt.errors import ConfigError, MissingResourceError
from lmt.io import content_hash, write_json_atomic, write_parquet_atomic
from lmt.languages import Direction, parse_directions
from lmt.log import get_logger, progress
from lmt.prompts import get_template, render_prompt

log = get_logger("lmt.synth")

MANIFEST = "manifest.json"
SHARD_SCHEMA = pa.schema([("line", pa.int64()), ("src", pa.string()), ("tgt", pa.string()), ("drop_reason", pa.string())])
# Settings that change what a shard holds; engine, batching and device do not.
SHARD_SETTINGS = ("tokenizer", "prompt", "use_chat_template", "num_beams", "max_new_tokens", "do_sample", "shard_size", "degenerate")


def output_dir(cfg: ExperimentConfig) -> Path:
    """Where synthesis writes (``synth.output_dir`` or ``<run_dir>/data/synth``)."""
    sc = cfg.require("synth")
    return Path(sc.output_dir) if sc.output_dir else cfg.stage_dir("synth")


def resolve_model(cfg: ExperimentConfig) -> str:
    """``synth.model``, or the run's final SFT model when it exists."""
    sc = cfg.require("synth")
    if sc.model:
        return sc.model
    default = cfg.stage_dir("sft") / "final"
    if not default.is_dir():
        raise MissingResourceError(
            f"{cfg.source}: synth.model is not set and the run's SFT model {default} does not exist; "
            "set synth.model to a model directory or hub id (e.g. NiuTrans/LMT-60-4B)"
        )
    return str(default)


def default_corpus(model: str) -> str:
    """``synth_<model name>`` with only file-name-safe characters (``synth_LMT-60-4B``)."""
    name = Path(model.rstrip("/")).name
    if name in ("final", "") or name.startswith("checkpoint"):
        name = "-".join(Path(model.rstrip("/")).parts[-2:])
    return "synth_" + (re.sub(r"[^A-Za-z0-9\-]+", "-", name).strip("-") or "model")


def plan_directions(sc: SynthConfig, inputs: list[MonoInput], where: str) -> dict[str, list[Direction]]:
    """Targets per source language: the directions of ``synth.directions`` whose source has an input."""
    have = {i.lang for i in inputs}
    by_src: dict[str, list[Direction]] = {}
    for d in parse_directions(sc.directions):
        if d.src in have and d.src != d.tgt:
            by_src.setdefault(d.src, []).append(d)
    if not by_src:
        raise ConfigError(
            f"{where}: synth.directions {sc.directions!r} has no direction from an input language "
            f"({', '.join(sorted(have))}); e.g. en2x for English input, zh2x for Chinese"
        )
    return by_src


class Synthesis:
    """One synthesis run over a config (see :func:`run_synth`)."""

    def __init__(self, cfg: ExperimentConfig, limit: Optional[int] = None) -> None:
        self.cfg = cfg
        self.sc: SynthConfig = cfg.require("synth")
        self.root = output_dir(cfg)
        if not self.sc.inputs:
            raise ConfigError(f"{cfg.source}: synth.inputs is empty; list monolingual files with their lang")
        self.inputs = [resolve_input(i, spec, f"{cfg.source}: synth.inputs.{i}") for i, spec in enumerate(self.sc.inputs)]
        self.by_src = plan_directions(self.sc, self.inputs, cfg.source)
        self.model = resolve_model(cfg)
        self.corpus = self.sc.corpus or default_corpus(self.model)
        self.limit = limit if limit is not None else self.sc.limit
        self.template = get_template(self.sc.prompt)
        self.engine: Any = None
        self.plan = self._plan()

    # ------------------------------------------------------------------ plan

    def _plan(self) -> dict[Direction, list[Shard]]:
        """Every shard of every direction; a ``limit`` cuts each source stream after N sentences."""
        plan: dict[Direction, list[Shard]] = {}
        for src, dirs in self.by_src.items():
            left = self.limit
            for inp in (i for i in self.inputs if i.lang == src):
                take = inp.sentences if left is None else min(inp.sentences, left)
                for d in dirs:
                    plan.setdefault(d, []).extend(
                        Shard(d, inp.index, c, start, n) for c, start, n in chunks(take, self.sc.shard_size)
                    )
                if left is not None:
                    left -= take
        return plan

    def settings(self, inp: MonoInput) -> str:
        """Hash of what decides a shard's content (model, prompt, generation, input file)."""
        fields = self.sc.model_dump(mode="json", include=set(SHARD_SETTINGS))
        fingerprint = {k: v for k, v in inp.fingerprint.items() if k not in ("mtime", "path")}
        return content_hash(self.model, fields, fingerprint)

    # ----------------------------------------------------------- translation

    def _engine(self) -> Any:
        if self.engine is None:
            from lmt.generation import make_engine

            log.info("loading %s for synthesis", self.model)
            self.engine = make_engine(self.sc, self.model, self.sc.tokenizer, strip=True, key="synth.engine")
        return self.engine

    def render(self, d: Direction, sentence: str) -> str:
        """The prompt the model sees for one sentence."""
        template = get_template(self.template, self.sc.use_chat_template)
        return render_prompt(self._engine().tokenizer, template, d.src, d.tgt, sentence).prompt

    def translate(self, shard: Shard, inp: MonoInput, rows: list[tuple[int, str]]) -> dict:
        """Translate, check and write one shard with its done marker; returns the marker."""
        d = shard.direction
        engine = self._engine()
        t0 = time.perf_counter()
        sources = [s for _, s in rows]
        prompts = [self.render(d, s) for s in sources]
        outputs = [" ".join(o.split()) for o in engine.generate(prompts, desc=f"{d} {shard.name}")]
        reasons = DegenerateCheck(self.sc.degenerate, d.tgt).reasons(sources, outputs)
        seconds = time.perf_counter() - t0
        table = pa.table(
            {"line": [n for n, _ in rows], "src": sources, "tgt": outputs, "drop_reason": reasons}, schema=SHARD_SCHEMA
        )
        write_parquet_atomic(table, shard.path(self.root))
        drops = Counter(f"synth:{r}" for r in reasons if r)
        marker = {
            "settings": self.settings(inp),
            "input": inp.path,
            "start": shard.start,
            "lines": shard.lines,
            "kept": len(rows) - sum(drops.values()),
            "dropped": dict(sorted(drops.items())),
            "seconds": round(seconds, 3),
            "prompt": self.render(d, "{src}"),
            "pid": os.getpid(),
        }
        write_json_atomic(shard.marker(self.root), marker)
        log.info(
            "%s %s: kept %d/%d%s, %.1f sentences/s",
            d, shard.name, marker["kept"], len(rows),
            f" (dropped {dict(drops)})" if drops else "", len(rows) / max(seconds, 1e-9),
        )
        return marker

    def _chunks_of(self, inp: MonoInput) -> Iterator[tuple[int, list[tuple[int, str]]]]:
        reader = inp.read()
        for c, _start, n in chunks(inp.sentences, self.sc.shard_size):
            yield c, list(islice(reader, n))

    def run(self) -> dict:
        """Translate every unfinished shard, then write the outputs and the manifest."""
        for pattern in (".*.tmp", f"{WORK}/*/.*.tmp", f"{PARALLEL_DIR}/*/.*.tmp"):  # left by a killed run
            for stale in self.root.glob(pattern):
                stale.unlink(missing_ok=True)
        markers: dict[Shard, dict] = {}
        todo: dict[int, dict[int, list[Shard]]] = {}
        for shards in self.plan.values():
            for s in shards:
                done = read_marker(s, self.root, self.settings(self.inputs[s.input_index]))
                if done is not None:
                    markers[s] = done
                else:
                    todo.setdefault(s.input_index, {}).setdefault(s.chunk, []).append(s)
        total = sum(s.lines for shards in self.plan.values() for s in shards)
        done_lines = sum(s.lines for s in markers)
        if todo:
            log.info("synthesis: %d of %d sentence translations left (%d shards)", total - done_lines, total,
                     sum(len(v) for c in todo.values() for v in c.values()))
        with progress(total=total, initial=done_lines, desc="synth", unit="sent") as bar:
            for index, by_chunk in sorted(todo.items()):
                inp = self.inputs[index]
                for c, rows in self._chunks_of(inp):
                    if c > max(by_chunk):
                        break
                    for shard in by_chunk.get(c, []):
                        markers[shard] = self.translate(shard, inp, rows[: shard.lines])
                        bar.update(shard.lines)
        # Translation time only (render, generate, checks): model loading and input reading excluded.
        seconds = sum(markers[s]["seconds"] for by_chunk in todo.values() for shards in by_chunk.values() for s in shards)
        return self._finish(markers, total - done_lines, seconds)

    # ---------------------------------------------------------------- output

    def _finish(self, markers: dict[Shard, dict], translated: int, seconds: float) -> dict:
        names = {i.index: i.short for i in self.inputs}
        directions = {}
        for d, shards in self.plan.items():
            drops: Counter = Counter()
            for s in shards:
                drops.update(markers[s]["dropped"])
            written = write_outputs(self.root, self.corpus, d, shards, names, self.sc.formats)
            if written["pairs"] == 0:
                log.warning("%s: every output was degenerate; no pair written", d)
            directions[str(d)] = {
                "sentences": sum(s.lines for s in shards),
                "kept": written["pairs"],
                "dropped": dict(sorted(drops.items())),
                "shards": len(shards),
                "files": written["files"],
                "prompt": markers[shards[0]]["prompt"] if shards else None,
            }
        manifest = {
            "kind": "synth",
            "corpus": self.corpus,
            "model": self.model,
            "tokenizer": self.sc.tokenizer or self.model,
            "prompt": {"template": self.sc.prompt, "use_chat_template": self.sc.use_chat_template},
            "generation": self.sc.model_dump(
                mode="json", include={"engine", "num_beams", "max_new_tokens", "do_sample", "batch_size", "sort_by_length", "dtype"}
            ),
            "degenerate": self.sc.degenerate.model_dump(mode="json"),
            "shard_size": self.sc.shard_size,
            "limit": self.limit,
            "inputs": [{"path": i.path, "lang": i.lang, "sentences": i.sentences, "fingerprint": i.fingerprint} for i in self.inputs],
            "directions": directions,
            "counts": {
                "sentences": sum(v["sentences"] for v in directions.values()),
                "kept": sum(v["kept"] for v in directions.values()),
                "dropped": sum(sum(v["dropped"].values()) for v in directions.values()),
            },
            "this_run": {
                "engine": type(self.engine).__name__ if self.engine is not None else None,
                "translated": translated,
                "seconds": round(seconds, 3),
                "sentences_per_s": round(translated / seconds, 2) if translated and seconds > 0 else None,
            },
        }
        write_json_atomic(self.root / MANIFEST, manifest)
        return manifest


def run_synth(cfg: ExperimentConfig, overwrite: bool = False, limit: Optional[int] = None) -> dict:
    """Run the ``synth:`` section of an experiment; returns the manifest.

    Args:
        cfg: experiment config with a ``synth:`` section.
        overwrite: delete earlier shards and outputs first (translate everything again).
        limit: translate only the first N sentences per direction (overrides ``synth.limit``).

    Raises:
        ConfigError: no inputs, no usable direction, shards made with other settings.
        MissingResourceError: a missing input file or model.
        UnknownLanguageError: an input language the registry does not know.
        DataError: an input that is not UTF-8, unreadable or empty.
    """
    synthesis = Synthesis(cfg, limit)
    if overwrite:
        _wipe(synthesis.root, synthesis.corpus)
    synthesis.root.mkdir(parents=True, exist_ok=True)
    return synthesis.run()


def _wipe(root: Path, corpus: str) -> None:
    """Remove what a synthesis wrote under ``root`` (shards, outputs, manifest), nothing else."""
    if not root.is_dir():
        return
    for name in (WORK, PARALLEL_DIR):
        shutil.rmtree(root / name, ignore_errors=True)
    for path in [root / MANIFEST, *root.glob(f"{corpus}.*")]:
        path.unlink(missing_ok=True)
