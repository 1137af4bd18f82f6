"""The auxiliary-language map used by parallel multilingual prompting (PMP).

For a direction En<->X the auxiliary language is a typologically close,
well-resourced neighbour of X (the paper's Table 12); for Zh<->X it is English.
The map is partial: :meth:`AuxMap.aux_language` returns ``None`` when X has no
entry, and the caller falls back to the plain prompt. The auxiliary language is
never the direction's source or target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional

import yaml

from lmt.errors import ConfigError, UnknownLanguageError
from lmt.languages import CHINESE, ENGLISH, Direction, normalize_code

DEFAULT_AUX_MAP = "default"


@dataclass
class AuxMap:
    """Auxiliary language per non-centre language.

    Attributes:
        en_centred: X -> auxiliary language for En<->X directions.
        zh_centred: auxiliary for every Zh<->X direction (English), or None.
        source: where the map was loaded from (for error messages).
    """

    en_centred: dict[str, str] = field(default_factory=dict)
    zh_centred: Optional[str] = ENGLISH
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check codes resolve and no language maps to itself."""
        fixed: dict[str, str] = {}
        for lang, aux in self.en_centred.items():
            try:
                lang_c, aux_c = normalize_code(lang), normalize_code(aux)
            except UnknownLanguageError as err:
                raise ConfigError(f"{self.source}: en_centred.{lang}: {err}") from None
            if lang_c == aux_c:
                raise ConfigError(f"{self.source}: en_centred.{lang}: a language cannot be its own auxiliary")
            if aux_c == ENGLISH:
                raise ConfigError(f"{self.source}: en_centred.{lang}: English cannot be the auxiliary of an En<->X direction")
            fixed[lang_c] = aux_c
        self.en_centred = fixed
        if self.zh_centred is not None:
            try:
                self.zh_centred = normalize_code(self.zh_centred)
            except UnknownLanguageError as err:
                raise ConfigError(f"{self.source}: zh_centred: {err}") from None
            if self.zh_centred == CHINESE:
                raise ConfigError(f"{self.source}: zh_centred: Chinese cannot be the auxiliary of Zh<->X")

    @classmethod
    def load(cls, path: "str | Path | None" = None) -> "AuxMap":
        """Load a map from YAML (``None`` or ``"default"``: the paper's Table 12)."""
        if path is None or str(path) == DEFAULT_AUX_MAP:
            text = resources.files("lmt.data").joinpath("aux_map.yaml").read_text(encoding="utf-8")
            source = "lmt/data/aux_map.yaml"
        else:
            p = Path(path)
            if not p.is_file():
                raise ConfigError(f"aux_map: file {p} does not exist")
            text, source = p.read_text(encoding="utf-8"), str(p)
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: not valid YAML: {err}") from None
        unknown = set(data) - {"en_centred", "zh_centred"}
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}; expected en_centred, zh_centred")
        return cls(en_centred=dict(data.get("en_centred") or {}), zh_centred=data.get("zh_centred", ENGLISH), source=source)

    def aux_language(self, src: str, tgt: str) -> Optional[str]:
        """Auxiliary language for ``src -> tgt`` or ``None`` (plain prompt).

        Keyed by the non-centre language: En->ky and ky->En both use Russian;
        Zh<->X uses English.
        """
        d = Direction(normalize_code(src), normalize_code(tgt))
        if d.group in ("zh2x", "x2zh"):
            aux = self.zh_centred
        elif d.group in ("en2x", "x2en"):
            aux = self.en_centred.get(d.other)
        else:
            aux = None
        if aux in (d.src, d.tgt):
            return None
        return aux
