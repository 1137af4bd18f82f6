"""Config model of one input corpus (an entry of ``prep.corpora``).

A :class:`CorpusSource` points at raw OPUS downloads in any of the formats OPUS
ships. Most fields are optional: :func:`data_prep.readers.discover` fills them in
from OPUS file names, and :func:`data_prep.readers.read_corpus` infers what is
still missing when it opens the files.

```yaml
prep:
  corpora:
    - path: raw/bible-uedin.de-en          # Moses prefix: .de/.en (or .gz) next to it
    - path: raw/de-en.txt.zip              # OPUS Moses zip (X.de-en.de + X.de-en.en inside)
    - path: raw/OpenSubtitles.de-en.tmx.gz
    - {path: raw/Europarl/xml/de-en.xml.gz, docs: [raw/de.zip, raw/en.zip]}
    - {path: raw/my_corpus, format: moses, src_path: train.src, tgt_path: train.tgt,
       src_lang: de, tgt_lang: en, name: mine}
    - path: raw/                           # a directory: every OPUS corpus found in it
```
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, model_validator

from lmt.config.base import StrictModel

CorpusFormat = Literal["auto", "moses", "tmx", "xces"]


class CorpusSource(StrictModel):
    """One parallel corpus to ingest.

    Language codes may be given in any form the registry knows (``de``,
    ``deu``, ``zh_cn``, ``deu_Latn``); records always carry FLORES codes.
    """

    path: str = Field(
        description=(
            "file, Moses prefix (X.de-en with X.de-en.de/.en next to it), zip archive, "
            "or a directory of OPUS downloads (expanded with data_prep.readers.discover)"
        )
    )
    format: CorpusFormat = Field("auto", description="moses | tmx | xces; auto infers it from the file name")
    src_lang: Optional[str] = Field(None, description="source language (default: from the OPUS file name, e.g. de in de-en)")
    tgt_lang: Optional[str] = Field(None, description="target language (default: from the OPUS file name, e.g. en in de-en)")
    name: Optional[str] = Field(None, description="corpus name stored in each record (default: from the OPUS file name)")
    src_path: Optional[str] = Field(
        None, description="Moses source-side file (relative to `path` when that is a directory; a member name when a zip)"
    )
    tgt_path: Optional[str] = Field(
        None, description="Moses target-side file (relative to `path` when that is a directory; a member name when a zip)"
    )
    docs: Optional[Union[str, list[str]]] = Field(
        None,
        description=(
            "XCES only: where the sentence-split documents are: directory(ies) and/or zip archive(s) "
            "such as de.zip, en.zip (default: <lang>.zip or <lang>/ next to the alignment file, else its folder)"
        ),
    )

    @model_validator(mode="after")
    def _fields_match_format(self) -> "CorpusSource":
        if self.format in ("tmx", "xces") and (self.src_path or self.tgt_path):
            raise ValueError(f"src_path/tgt_path are for Moses corpora, not format {self.format!r}")
        if self.format in ("moses", "tmx") and self.docs is not None:
            raise ValueError(f"docs is for XCES corpora, not format {self.format!r}")
        return self

    def doc_roots(self) -> list[str]:
        """``docs`` as a list (empty when unset)."""
        if self.docs is None:
            return []
        return [self.docs] if isinstance(self.docs, str) else list(self.docs)
