"""Write a prep output (lmt/datafiles.py layout) with pyarrow, for recipe tests.

Multi-way: every direction is built from the same aligned sentences, and a
record carries the auxiliary sentence the experiment's aux map asks for when
that language is among the aligned ones (as prep's English-pivot step does).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lmt.aux_map import AuxMap
from lmt.io import write_parquet_atomic
from lmt.languages import Direction
from lmt.schemas import MONO_SCHEMA, PARALLEL_SCHEMA

DIRECTIONS = [
    ("eng_Latn", "kir_Cyrl"),  # aux Russian
    ("eng_Latn", "deu_Latn"),  # aux Dutch: not in the data -> plain prompt
    ("eng_Latn", "fra_Latn"),  # aux Italian: not in the data -> plain prompt
    ("kir_Cyrl", "eng_Latn"),  # reverse, aux Russian
    ("zho_Hans", "kir_Cyrl"),  # aux English
    ("zho_Hans", "rus_Cyrl"),  # aux English
    ("rus_Cyrl", "zho_Hans"),  # reverse, aux English
    ("eng_Latn", "zho_Hans"),
]


def write_prep_output(root: "str | Path", parallel: dict[str, list[str]], directions=DIRECTIONS, repeat: int = 1, mono: bool = True) -> Path:
    """Write ``root/parallel/{src}-{tgt}/part-00000.parquet`` (+ ``mono/``); returns ``root``.

    ``repeat`` copies every sentence with a numbered suffix, to get more records.
    """
    root = Path(root)
    aux_map = AuxMap.load()
    for src, tgt in directions:
        aux_lang = aux_map.aux_language(src, tgt)
        rows = {k: [] for k in PARALLEL_SCHEMA.names}
        for r in range(repeat):
            for i in range(len(parallel[src])):
                sfx = "" if r == 0 else f" ({r})"
                rows["src_lang"].append(src)
                rows["tgt_lang"].append(tgt)
                rows["src"].append(parallel[src][i] + sfx)
                rows["tgt"].append(parallel[tgt][i] + sfx)
                rows["corpus"].append("test")
                rows["origin"].append(f"test.txt:{r * 100 + i + 1}")
                has_aux = aux_lang is not None and aux_lang in parallel
                rows["aux_lang"].append(aux_lang if has_aux else None)
                rows["aux"].append(parallel[aux_lang][i] + sfx if has_aux else None)
        d = Direction(src, tgt)
        write_parquet_atomic(pa.table(rows, schema=PARALLEL_SCHEMA), root / "parallel" / f"{d.src}-{d.tgt}" / "part-00000.parquet")
    if mono:
        for lang, sents in parallel.items():
            table = pa.table({"lang": [lang] * len(sents), "text": list(sents), "corpus": ["mono"] * len(sents)}, schema=MONO_SCHEMA)
            write_parquet_atomic(table, root / "mono" / lang / "part-00000.parquet")
    return root
