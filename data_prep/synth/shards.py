"""The shard plan of a synthesis run and its done markers.

A shard is ``shard_size`` consecutive sentences of one input file, translated
into one target language: ``_work/{src}-{tgt}/i{input}-c{chunk}.parquet``
(every sentence with its output and drop reason) and, written after it, the
marker ``....done.json``. Both are written atomically, so after a kill a shard
either has its marker (finished: never translated again) or is redone whole.
A marker also records the settings the shard was made with; shards made with
other settings are refused rather than mixed into one corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lmt.errors import ConfigError
from lmt.io import read_json
from lmt.languages import Direction

WORK = "_work"


@dataclass(frozen=True)
class Shard:
    """One unit of work: sentences ``[start, start + lines)`` of an input, into one direction."""

    direction: Direction
    input_index: int
    chunk: int
    start: int
    lines: int

    @property
    def name(self) -> str:
        """``i000-c00003``."""
        return f"i{self.input_index:03d}-c{self.chunk:05d}"

    def path(self, root: Path) -> Path:
        """The shard's Parquet file."""
        return root / WORK / f"{self.direction.src}-{self.direction.tgt}" / f"{self.name}.parquet"

    def marker(self, root: Path) -> Path:
        """The shard's done marker."""
        return self.path(root).with_suffix(".done.json")


def chunks(sentences: int, shard_size: int) -> list[tuple[int, int, int]]:
    """``(chunk, start, lines)`` covering ``sentences`` sentences in ``shard_size`` pieces."""
    return [(i, start, min(shard_size, sentences - start)) for i, start in enumerate(range(0, sentences, shard_size))]


def read_marker(shard: Shard, root: Path, settings: str) -> Optional[dict]:
    """The marker of a finished shard, or None when the shard must be (re)done.

    A marker for fewer lines (an earlier ``--limit`` run cut the shard short)
    means the shard is redone in full; one for more lines (a ``--limit`` run
    after a full one) serves its first ``lines`` rows.

    Raises:
        ConfigError: the shard was made with other settings (model, prompt,
            generation, input file or shard size).
    """
    marker = shard.marker(root)
    if not marker.is_file() or not shard.path(root).is_file():
        return None
    done = read_json(marker)
    if done.get("settings") != settings:
        raise ConfigError(
            f"{root}: shard {shard.direction} {shard.name} was made with other synthesis settings "
            "(model, prompt, generation, input file or shard size changed); rerun with --overwrite "
            "or set another synth.output_dir"
        )
    return done if done.get("lines", 0) >= shard.lines else None
