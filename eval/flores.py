"""FLORES-200 (and FLORES-style) test sets from directories the user points to.

Recognised layouts, for ``split`` in ``dev``/``devtest`` (any mix, several roots):

* original release: ``[flores200_dataset/]{split}/{code}.{split}`` (``devtest/eng_Latn.devtest``);
* FLORES+ text release: ``[floresp-*/]{split}/{split}.{code}`` (``dev/dev.cmn_Hans``);
* FLORES+ / HF Parquet: ``{split}/{code}.parquet`` or ``{code}/{split}-*.parquet``
  (column ``text`` or ``sentence``, ordered by ``id`` when present);
* extra FLORES-style sets such as LMT's Inner Mongolian one:
  ``flores.{split}.{short}`` (``flores.devtest.mvf``, ``flores.dev.zh``).

Codes are normalised through :mod:`lmt.languages` (``cmn_Hans`` -> ``zho_Hans``,
``mvf``/``mn_cn`` -> ``mvf_Mong``); FLORES+ relabels are mapped back to the
FLORES-200 codes the registry uses. The first root that has a language wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from lmt.errors import DataError, MissingResourceError, UnknownLanguageError
from lmt.languages import get_language, normalize_code

HOW_TO_GET = (
    "get FLORES-200 from https://github.com/facebookresearch/flores/tree/main/flores200 "
    "(flores200_dataset.tar.gz: {dev,devtest}/{code}.{split}) or FLORES+ from "
    "https://github.com/openlanguagedata/flores, and set eval.flores_dir (extra sets such as LMT's "
    "flores.{dev,devtest}.mvf go in eval.extra_flores_dirs)"
)

# FLORES+ 2.0 renamed a few FLORES-200 codes; the registry keys the originals.
FLORES_PLUS_RELABELS = {
    "fil_Latn": "tgl_Latn",
    "ekk_Latn": "est_Latn",
    "gug_Latn": "grn_Latn",
    "ktu_Latn": "kon_Latn",
    "zgh_Tfng": "tzm_Tfng",
    "twi_Latn_asan1239": "aka_Latn",
    "twi_Latn_akua1239": "twi_Latn",
    "apc_Arab_sout3123": "ajp_Arab",
    "apc_Arab_nort3139": "apc_Arab",
}

_SPLITS = ("dev", "devtest")

#: Languages outside FLORES-200 and where a FLORES-style set for them comes from.
EXTRA_SETS = {
    "mvf_Mong": "LMT's Inner Mongolian set data/flores_mvf (flores.{dev,devtest}.{en,zh,mvf}) from "
    "https://github.com/NiuTrans/LMT",
}


def how_to_add(code: str, split: str) -> str:
    """How to make one missing language available (names its extra set when one is known)."""
    where = EXTRA_SETS.get(code)
    short = get_language(code).short or code
    layout = f"{split}/{code}.{split} or flores.{split}.{short}"
    if where:
        return f"add the directory of {where} to eval.extra_flores_dirs"
    return f"add a directory holding {layout} to eval.extra_flores_dirs"


def _resolve(code: str) -> Optional[str]:
    code = FLORES_PLUS_RELABELS.get(code, code)
    for cand in (code, "_".join(code.split("_")[:2])):  # drop a glottocode suffix
        try:
            return normalize_code(cand)
        except UnknownLanguageError:
            continue
    return None


def _candidates(root: Path, split: str) -> Iterable[tuple[str, Path]]:
    """(raw code, file) pairs of every layout under one root."""
    bases = [root, root / "flores200_dataset"] + sorted(p for p in root.glob("floresp*") if p.is_dir())
    for base in bases:
        sdir = base / split
        if sdir.is_dir():
            for p in sorted(sdir.iterdir()):
                if not p.is_file() or p.name.startswith("."):
                    continue
                if p.name.endswith(f".{split}"):
                    yield p.name[: -len(split) - 1], p
                elif p.name.startswith(f"{split}."):
                    yield p.name[len(split) + 1 :], p
                elif p.suffix == ".parquet":
                    yield p.stem, p
                elif p.suffix == ".txt":
                    yield p.stem, p
        for p in sorted(base.glob(f"*/{split}-*.parquet")):
            yield p.parent.name, p
        for p in sorted(base.glob(f"*.{split}")):  # {code}.{split} directly in the root
            yield p.name[: -len(split) - 1], p
        pat = re.compile(rf"^flores\.{split}\.(.+)$")
        for p in sorted(base.glob(f"flores.{split}.*")):
            m = pat.match(p.name)
            if m and p.is_file():
                yield m.group(1), p


def _read_lines(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        col = next((c for c in ("text", "sentence") if c in table.column_names), None)
        if col is None:
            raise DataError(f"{path}: no 'text' or 'sentence' column (has {table.column_names})")
        rows = table.to_pydict()
        lines = [str(x) for x in rows[col]]
        if "id" in rows:
            lines = [t for _, t in sorted(zip(rows["id"], lines), key=lambda x: x[0])]
        return lines
    return read_text_lines(path)


def read_text_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file (no trailing newline); bad bytes name file and line."""
    out = []
    for i, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        try:
            out.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as err:
            raise DataError(f"{path}:{i}: invalid UTF-8 ({err.reason})") from None
    if out and out[-1] == "":
        out.pop()
    return out


@dataclass
class FloresSet:
    """One split of FLORES-style test sets gathered from one or more roots.

    Attributes:
        roots: directories searched, in priority order.
        split: ``dev`` or ``devtest``.
        files: FLORES code -> file.
    """

    roots: list[Path]
    split: str
    files: dict[str, Path] = field(default_factory=dict)
    _cache: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def discover(cls, roots: "str | Path | Iterable[str | Path]", split: str = "devtest") -> "FloresSet":
        """Index the FLORES files of ``split`` under each root.

        Raises:
            MissingResourceError: a root does not exist or holds no file of the split.
        """
        if split not in _SPLITS:
            raise DataError(f"FLORES split must be one of {_SPLITS}, got {split!r}")
        if isinstance(roots, (str, Path)):
            roots = [roots]
        paths = [Path(r).expanduser() for r in roots]
        if not paths:
            raise MissingResourceError(f"no FLORES directory given: {HOW_TO_GET}")
        files: dict[str, Path] = {}
        for root in paths:
            if not root.is_dir():
                raise MissingResourceError(f"FLORES directory {root} does not exist: {HOW_TO_GET}")
            here: dict[str, tuple[int, Path]] = {}
            for raw, path in _candidates(root, split):
                code = _resolve(raw)
                if code is None:
                    continue
                # Two names for one language in a root (flores.dev.mvf and the
                # older flores.dev.mn_cn): the canonical or short code wins.
                rank = 0 if raw in (code, get_language(code).short) else 1
                if code not in here or rank < here[code][0]:
                    here[code] = (rank, path)
            for code, (_, path) in here.items():
                files.setdefault(code, path)
            if not here:
                raise MissingResourceError(
                    f"FLORES directory {root} has no '{split}' files in a known layout "
                    f"({split}/{{code}}.{split}, {split}/{split}.{{code}}, flores.{split}.{{lang}}, ...): {HOW_TO_GET}"
                )
        return cls(paths, split, files)

    @property
    def languages(self) -> list[str]:
        """FLORES codes available."""
        return sorted(self.files)

    def path(self, lang: str) -> Path:
        """The file of one language (code or alias).

        Raises:
            MissingResourceError: naming the file expected and how to get the data.
        """
        code = normalize_code(lang)
        if code not in self.files:
            expected = " or ".join(str(r / self.split / f"{code}.{self.split}") for r in self.roots)
            raise MissingResourceError(
                f"FLORES {self.split} has no file for {code}: expected {expected} "
                f"(found {len(self.files)} languages); {HOW_TO_GET}"
            )
        return self.files[code]

    def sentences(self, lang: str) -> list[str]:
        """All sentences of a language, in FLORES order."""
        code = normalize_code(lang)
        if code not in self._cache:
            self._cache[code] = _read_lines(self.path(code))
        return self._cache[code]

    def missing(self, langs: Iterable[str]) -> list[str]:
        """The languages (FLORES codes) that no root has a file for."""
        return sorted({normalize_code(lang) for lang in langs} - set(self.files))

    def check(self, langs: Iterable[str]) -> int:
        """Check that every language exists and has the same number of lines.

        Returns:
            The common line count.

        Raises:
            MissingResourceError: a language file is missing.
            DataError: line counts differ (names each file and count).
        """
        langs = list(dict.fromkeys(normalize_code(lang) for lang in langs))
        missing = [lang for lang in langs if lang not in self.files]
        if len(missing) == 1:
            self.path(missing[0])  # raises, naming the expected file
        if missing:
            raise MissingResourceError(
                f"FLORES {self.split} lacks {len(missing)} language(s) needed by the directions: "
                f"{', '.join(sorted(missing))} (searched {', '.join(map(str, self.roots))}); {HOW_TO_GET}"
            )
        counts = {lang: len(self.sentences(lang)) for lang in langs}
        if len(set(counts.values())) > 1:
            common = max(set(counts.values()), key=list(counts.values()).count)
            bad = [f"{self.files[lang]} has {n} lines" for lang, n in counts.items() if n != common]
            raise DataError(
                f"FLORES {self.split} files are not parallel: {'; '.join(bad)} while the others have {common}"
            )
        return next(iter(counts.values())) if counts else 0
