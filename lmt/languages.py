"""The language registry: the 60 LMT languages, the rest of FLORES-200, aliases.

Codes are FLORES-200 style (``eng_Latn``) everywhere. Any code people meet in the
wild -- the paper's short codes (``en``, ``mvf``), ISO 639-1/639-3, OPUS file
codes (``zh_cn``, ``pt_br``, ``nb``) -- resolves to one :class:`Language` through
:func:`get_language`. Unknown codes raise :class:`UnknownLanguageError` naming
the closest valid codes.

Users add languages with :func:`register_language` (the experiment config's
``languages:`` list does this on load).
"""

from __future__ import annotations

import csv
import difflib
import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Iterable, Optional

from lmt.errors import UnknownLanguageError

ENGLISH = "eng_Latn"
CHINESE = "zho_Hans"
CENTRES = (ENGLISH, CHINESE)
TIERS = ("high", "medium", "low")
#: Values of :attr:`Direction.group`.
GROUPS = ("en2x", "x2en", "zh2x", "x2zh", "other")


@dataclass(frozen=True)
class Language:
    """One language of the registry.

    Attributes:
        code: FLORES-200 code, e.g. ``kir_Cyrl``.
        name: English name used in prompts, e.g. ``Kirghiz``.
        iso639_3: ISO 639-3 code (``kir``).
        iso639_1: ISO 639-1 code or ``""`` (``ky``).
        script: ISO 15924 script (``Cyrl``).
        short: the LMT paper's short code (``ky``) or ``""`` outside LMT-60.
        tier: ``high``/``medium``/``low`` for LMT-60 languages, else ``""``.
        aliases: further codes that resolve to this language.
    """

    code: str
    name: str
    iso639_3: str
    iso639_1: str = ""
    script: str = ""
    short: str = ""
    tier: str = ""
    aliases: tuple[str, ...] = field(default=())

    @property
    def is_lmt(self) -> bool:
        """Whether the language is one of the 60 LMT languages."""
        return bool(self.tier)

    @property
    def spaceless(self) -> bool:
        """Scripts written without spaces between words (count characters)."""
        return self.script in SPACELESS_SCRIPTS

    def __str__(self) -> str:
        return self.code


# Scripts where words are not separated by spaces: length is counted in
# characters and BLEU needs a character-level tokeniser.
SPACELESS_SCRIPTS = frozenset({"Hans", "Hant", "Jpan", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Hang"})


@dataclass(frozen=True)
class Direction:
    """A translation direction ``src -> tgt`` (FLORES codes)."""

    src: str
    tgt: str

    @property
    def group(self) -> str:
        """``en2x``, ``x2en``, ``zh2x``, ``x2zh`` (En<->Zh counts as En-centred)."""
        if self.src == ENGLISH:
            return "en2x"
        if self.tgt == ENGLISH:
            return "x2en"
        if self.src == CHINESE:
            return "zh2x"
        if self.tgt == CHINESE:
            return "x2zh"
        return "other"

    @property
    def is_reverse(self) -> bool:
        """X->En and X->Zh: the many-to-one directions that get downsampled."""
        return self.group in ("x2en", "x2zh")

    @property
    def other(self) -> str:
        """The non-centre language of the pair (``tgt`` for ``zho->eng``)."""
        if self.group in ("en2x", "zh2x"):
            return self.tgt
        return self.src

    @property
    def tier(self) -> str:
        """Resource tier of the non-centre language ('' outside LMT-60)."""
        return _registry().by_code[self.other].tier if self.other in _registry().by_code else ""

    def __str__(self) -> str:
        return f"{self.src}-{self.tgt}"

    @classmethod
    def parse(cls, text: str) -> "Direction":
        """Parse ``eng_Latn-kir_Cyrl``, ``en-ky`` or ``en2ky`` into a Direction."""
        for sep in ("->", "2", "-"):
            if sep in text:
                left, right = text.split(sep, 1) if sep != "-" else _split_dash(text)
                if left and right:
                    return cls(normalize_code(left), normalize_code(right))
        raise UnknownLanguageError(f"cannot parse direction {text!r}: expected SRC-TGT, e.g. eng_Latn-kir_Cyrl or en-ky")


def _split_dash(text: str) -> tuple[str, str]:
    # FLORES codes contain "_" not "-", but OPUS codes like zh-cn contain "-":
    # try each dash position and keep the first split where both sides resolve.
    parts = text.split("-")
    for i in range(1, len(parts)):
        left, right = "-".join(parts[:i]), "-".join(parts[i:])
        if _try(left) and _try(right):
            return left, right
    return text.split("-", 1)[0], text.split("-", 1)[1]


def _try(code: str) -> bool:
    try:
        normalize_code(code)
        return True
    except UnknownLanguageError:
        return False


class _Registry:
    def __init__(self) -> None:
        self.by_code: dict[str, Language] = {}
        self.alias: dict[str, str] = {}

    def add(self, lang: Language, override: bool = False) -> None:
        self.by_code[lang.code] = lang
        self.add_keys(lang, [lang.code, lang.short, lang.iso639_1, lang.iso639_3, *lang.aliases], override)

    def add_keys(self, lang: Language, keys: "list[str]", override: bool) -> None:
        for key in keys:
            if not key:
                continue
            for variant in {key, key.lower(), key.replace("-", "_").lower()}:
                if override or variant not in self.alias:
                    self.alias[variant] = lang.code


@functools.lru_cache(maxsize=1)
def _registry() -> _Registry:
    reg = _Registry()
    rows = list(csv.DictReader(resources.files("lmt.data").joinpath("languages.tsv").open(encoding="utf-8"), delimiter="\t"))
    # LMT languages first so their short codes win over other FLORES variants (zh -> zho_Hans).
    rows.sort(key=lambda r: 0 if r["tier"] else 1)
    langs = []
    for r in rows:
        langs.append(
            Language(
                code=r["code"],
                name=r["name"],
                iso639_3=r["iso639_3"],
                iso639_1=r["iso639_1"],
                script=r["script"],
                short=r["short"],
                tier=r["tier"],
                aliases=tuple((r.get("aliases") or "").split()),
            )
        )
    for lang in langs:
        reg.add(lang)
    # Explicit aliases beat ISO codes of other languages (OPUS's "min" is
    # Minangkabau in Latin script); LMT languages' aliases win last.
    for lang in sorted(langs, key=lambda x: x.is_lmt):
        reg.add_keys(lang, list(lang.aliases), override=True)
    return reg


def normalize_code(code: str) -> str:
    """Return the FLORES-200 code for any known code or alias.

    Raises:
        UnknownLanguageError: naming the closest valid codes.
    """
    reg = _registry()
    if code in reg.by_code:
        return code
    key = str(code).strip()
    for variant in (key, key.lower(), key.replace("-", "_").lower()):
        if variant in reg.alias:
            return reg.alias[variant]
    close = difflib.get_close_matches(key, list(reg.by_code) + list(reg.alias), n=5, cutoff=0.5)
    close_codes = list(dict.fromkeys(reg.alias.get(c, c) for c in close))
    hint = f"; closest: {', '.join(close_codes)}" if close_codes else ""
    raise UnknownLanguageError(f"unknown language code {code!r}{hint} (see `lmt languages` for the full list)")


def get_language(code: str) -> Language:
    """Look a language up by FLORES code, short code, ISO code or alias."""
    return _registry().by_code[normalize_code(code)]


def language_name(code: str) -> str:
    """English name used in prompts (``Kirghiz``)."""
    return get_language(code).name


def all_languages() -> list[Language]:
    """Every registered language (LMT-60 first, then the rest of FLORES-200)."""
    return list(_registry().by_code.values())


def lmt_languages(tier: Optional[str] = None) -> list[Language]:
    """The 60 LMT languages, optionally of one resource tier."""
    langs = [lang for lang in _registry().by_code.values() if lang.is_lmt]
    return [lang for lang in langs if tier is None or lang.tier == tier]


def centred_directions(centre: str, others: Iterable[str]) -> list[Direction]:
    """``centre->x`` and ``x->centre`` for every other language x."""
    centre = normalize_code(centre)
    out = []
    for other in others:
        other = normalize_code(other)
        if other == centre:
            continue
        out += [Direction(centre, other), Direction(other, centre)]
    return out


def lmt_directions() -> list[Direction]:
    """The 234 LMT directions: En<->X over 59 languages and Zh<->X over 58."""
    codes = [lang.code for lang in lmt_languages()]
    en = centred_directions(ENGLISH, codes)
    zh = centred_directions(CHINESE, [c for c in codes if c != ENGLISH])
    return en + zh


def register_language(
    code: str,
    name: str,
    *,
    iso639_1: str = "",
    iso639_3: str = "",
    short: str = "",
    tier: str = "",
    aliases: Iterable[str] = (),
) -> Language:
    """Add (or replace) a language, e.g. one outside FLORES-200.

    Args:
        code: FLORES-style code ``xxx_Scrp``.
        name: English name for prompts.
    """
    if "_" not in code:
        raise UnknownLanguageError(f"language code {code!r} must look like FLORES-200 codes: xxx_Scrp (e.g. kir_Cyrl)")
    if tier and tier not in TIERS:
        raise UnknownLanguageError(f"tier {tier!r} for {code} must be one of {TIERS}")
    iso3, script = code.split("_", 1)
    lang = Language(
        code=code,
        name=name,
        iso639_3=iso639_3 or iso3,
        iso639_1=iso639_1,
        script=script,
        short=short,
        tier=tier,
        aliases=tuple(aliases),
    )
    _registry().add(lang, override=True)
    return lang


def parse_directions(spec: "str | Iterable[str]") -> list[Direction]:
    """Expand a direction spec.

    Accepts ``all`` (234 LMT directions), a group (``en2x``, ``x2en``, ``zh2x``,
    ``x2zh``), a tier (``high``/``medium``/``low``: directions whose non-centre
    language is of that tier), or explicit directions (``en-ky``); lists mix them.
    """
    items = [spec] if isinstance(spec, str) else list(spec)
    out: list[Direction] = []
    every = lmt_directions()
    for item in items:
        item = item.strip()
        if item == "all":
            out += every
        elif item in ("en2x", "x2en", "zh2x", "x2zh"):
            out += [d for d in every if d.group == item]
        elif item in TIERS:
            out += [d for d in every if d.tier == item]
        else:
            out.append(Direction.parse(item))
    return list(dict.fromkeys(out))
