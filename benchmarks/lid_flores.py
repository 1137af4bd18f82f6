"""How much clean text the ``lid`` filter keeps, per LMT language, on FLORES-200.

    python benchmarks/lid_flores.py [--flores ../shared/data/flores200] [--split devtest]
        [--model-path PATH] [--all]

FLORES sentences are clean and in the right language, so every sentence the
LID check rejects is a false drop. For each LMT language the script prints the
share kept by the default policy (paper tiers: p >= 0.5 for high/medium,
top-1 for low; default confusables) next to the baseline without confusables
(``confusables`` emptied), plus the labels it confuses the language with.
Sorted worst first; ``--all`` prints every language (default: the ones under
99% with either setting). Not a test: it reads ../shared/data.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flores", type=Path, default=ROOT.parent / "shared" / "data" / "flores200")
    ap.add_argument("--split", default="devtest", choices=["dev", "devtest"])
    ap.add_argument("--model-path", default=None, help="fastText LID model (default: lid.176.ftz)")
    ap.add_argument("--all", action="store_true", help="print every language")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from data_prep.filters.lid import DEFAULT_CONFUSABLES, LidFilter
    from lmt.languages import lmt_languages

    policy = LidFilter(model_path=args.model_path)
    bare = LidFilter(model_path=args.model_path, confusables={code: [] for code in DEFAULT_CONFUSABLES})
    ident = policy.identifier
    print(f"model {Path(ident.model_path).name}, FLORES-200 {args.split}")
    print(f"{'language':10s} {'tier':6s} {'kept':>7s} {'no conf.':>9s}  most frequent wrong labels")
    rows, total, kept_all, kept_bare = [], 0, 0, 0
    for lang in lmt_languages():
        path = args.flores / args.split / f"{lang.code}.{args.split}"
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
        if args.all or share < 0.99:
            print(line)
    print(f"all languages: kept {kept_all / total:.2%} with the default confusables, {kept_bare / total:.2%} without")


if __name__ == "__main__":
    main()
