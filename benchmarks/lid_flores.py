"""Language ID on FLORES-200: clean-text keep rates, and confusable languages.

    python benchmarks/lid_flores.py [--flores DIR] [--split devtest]
        [--model-path PATH ...] [--all] [--skip-clean]

Part 1 (clean text). FLORES sentences are clean and in the right language, so
every sentence the LID check rejects is a false drop. For each LMT language the
script prints the share kept by the default policy (paper tiers: p >= 0.5 for
high/medium, top-1 for low; default confusables) next to the baseline without
confusables, plus the labels it confuses the language with. Sorted worst
first; ``--all`` prints every language (default: those under 99%).

Part 2 (confusable languages: nld/deu, ukr/rus, bul/mkd/rus, kaz/kir/rus,
ind/zsm, zho_Hans/zho_Hant/yue_Hant). For each language L of a group and each
language M of the same group, M's FLORES sentences are labelled L and run
through the default ``lid`` filter, and through ``script`` + ``lid`` (the
default chain's script and variety check): for M == L the table gives the
share kept (genuine text), for M != L the share dropped (deliberately wrong
language). Short sentences are reported separately: the first three words of
every sentence (six characters for spaceless scripts), where LID is weakest.
Each ``--model-path`` (any fastText LID model: GlotLID, OpenLID) gets its own
columns next to lid.176. Not a test: it reads FLORES from ``--flores``.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]

GROUPS = {
    "nld/deu": ("nld_Latn", "deu_Latn"),
    "ukr/rus": ("ukr_Cyrl", "rus_Cyrl"),
    "bul/mkd/rus": ("bul_Cyrl", "mkd_Cyrl", "rus_Cyrl"),
    "kaz/kir/rus": ("kaz_Cyrl", "kir_Cyrl", "rus_Cyrl"),
    "ind/zsm": ("ind_Latn", "zsm_Latn"),
    "zho_Hans/zho_Hant/yue": ("zho_Hans", "zho_Hant", "yue_Hant"),
}
SHORT_WORDS = 3
SHORT_CHARS = 6


def _read(flores: Path, split: str, code: str) -> list[str]:
    path = flores / split / f"{code}.{split}"
    if not path.is_file():
        raise SystemExit(f"{path} does not exist: point --flores at a FLORES-200 folder holding {split}/{code}.{split}")
    return path.read_text(encoding="utf-8").splitlines()


def _short(text: str, spaceless: bool) -> str:
    return text[:SHORT_CHARS] if spaceless else " ".join(text.split()[:SHORT_WORDS])


def clean_table(flores: Path, split: str, model_path: Optional[str], show_all: bool) -> None:
    """Part 1: share of clean FLORES text the lid filter keeps, per LMT language."""
    from data_prep.filters.lid import LidFilter
    from lmt.languages import lmt_languages
    from lmt.lid import DEFAULT_CONFUSABLES

    policy = LidFilter(model_path=model_path)
    bare = LidFilter(model_path=model_path, confusables={code: [] for code in DEFAULT_CONFUSABLES})
    ident = policy.identifier
    print(f"model {Path(ident.model_path).name}, FLORES-200 {split}: clean text kept")
    print(f"{'language':10s} {'tier':6s} {'kept':>7s} {'no conf.':>9s}  most frequent wrong labels")
    rows, total, kept_all, kept_bare = [], 0, 0, 0
    for lang in lmt_languages():
        path = flores / split / f"{lang.code}.{split}"
        if not path.is_file():
            rows.append((2.0, f"{lang.code:10s} {lang.tier:6s} (no FLORES file)"))
            continue
        if not ident.can_label(lang.code):
            rows.append((2.0, f"{lang.code:10s} {lang.tier:6s} (the model has no label: check skipped)"))
            continue
        texts = path.read_text(encoding="utf-8").splitlines()
        preds = ident.top1(texts)
        n = len(texts)

        def kept(f: LidFilter) -> int:
            limit = f.side_threshold(lang.code, "src")
            return sum(f.label_matches(lang.code, lab) and p >= limit for lab, p in preds)

        k, kb = kept(policy), kept(bare)
        total, kept_all, kept_bare = total + n, kept_all + k, kept_bare + kb
        wrong = Counter(lab for lab, _ in preds if not policy.label_matches(lang.code, lab)).most_common(3)
        line = f"{lang.code:10s} {lang.tier:6s} {k / n:7.1%} {kb / n:9.1%}  " + ", ".join(f"{lab} {c}" for lab, c in wrong)
        rows.append((min(k, kb) / n, line))
    for share, line in sorted(rows):
        if show_all or share < 0.99:
            print(line)
    print(f"all languages: kept {kept_all / total:.2%} with the default confusables, {kept_bare / total:.2%} without\n")


def _kept(chain, texts: list[str], lang: str) -> int:
    """How many of ``texts``, labelled ``lang``, the chain keeps (monolingual pseudo-pairs)."""
    pairs = [{"src_lang": lang, "tgt_lang": lang, "src": t, "tgt": t, "corpus": "flores"} for t in texts]
    kept, _ = chain.apply(pairs)
    return len(kept)


def confusable_table(flores: Path, split: str, models: list[Optional[str]]) -> None:
    """Part 2: keep rate of genuine and drop rate of wrong-language text per confusable group."""
    from data_prep.filters import FilterChain, LidFilter, ScriptFilter
    from lmt.languages import get_language

    chains = []
    for path in models:
        lid = LidFilter(model_path=path)
        name = Path(lid.identifier.model_path).name
        chains.append((f"{name} lid", FilterChain([lid], names=["lid"])))
        chains.append((f"{name} script+lid", FilterChain([ScriptFilter(), LidFilter(model_path=path)], names=["script", "lid"])))
    header = "| group | labelled | text in | measure | " + " | ".join(f"{n} full | {n} short" for n, _ in chains) + " |"
    print(f"FLORES-200 {split}: confusable languages (keep = genuine text kept; drop = wrong-language text dropped)")
    print(header)
    print("|" + "---|" * (4 + 2 * len(chains)))
    for group, codes in GROUPS.items():
        texts = {}
        for code in codes:
            full = _read(flores, split, code)
            texts[code] = (full, [_short(t, get_language(code).spaceless) for t in full])
        for label in codes:
            for actual in codes:
                genuine = actual == label
                cells = []
                for _, chain in chains:
                    for variant in texts[actual]:
                        k = _kept(chain, variant, label)
                        share = k / len(variant) if genuine else 1 - k / len(variant)
                        cells.append(f"{share:.1%}")
                measure = "keep" if genuine else "drop"
                print(f"| {group} | {label} | {actual} | {measure} | " + " | ".join(cells) + " |")
    print(f"\nshort = first {SHORT_WORDS} words of each sentence ({SHORT_CHARS} characters for spaceless scripts)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flores", type=Path, default=Path(os.environ.get("LMT_FLORES_DIR", ROOT.parent / "shared" / "data" / "flores200")))
    ap.add_argument("--split", default="devtest", choices=["dev", "devtest"])
    ap.add_argument(
        "--model-path", action="append", default=[], help="another fastText LID model to compare with lid.176 (repeatable)"
    )
    ap.add_argument("--all", action="store_true", help="part 1: print every language")
    ap.add_argument("--skip-clean", action="store_true", help="only part 2 (confusable languages)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    models: list[Optional[str]] = [None, *args.model_path]
    if not args.skip_clean:
        for path in models:
            clean_table(args.flores, args.split, path, args.all)
    confusable_table(args.flores, args.split, models)


if __name__ == "__main__":
    main()
