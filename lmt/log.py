"""Logging and progress: one logger format, tqdm bars, rank-0 printing."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Iterable, Optional

_CONFIGURED = False


def get_logger(name: str = "lmt") -> logging.Logger:
    """A logger writing ``time level name: message`` to stderr (configured once)."""
    global _CONFIGURED
    if not _CONFIGURED:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root = logging.getLogger("lmt")
        root.addHandler(handler)
        root.setLevel(os.environ.get("LMT_LOG_LEVEL", "INFO"))
        root.propagate = False
        _CONFIGURED = True
    return logging.getLogger(name if name.startswith("lmt") else f"lmt.{name}")


def is_rank0() -> bool:
    """True on the first process of a distributed run (or when not distributed)."""
    return os.environ.get("RANK", "0") == "0"


def print0(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only."""
    if is_rank0():
        print(*args, **kwargs, flush=True)


def progress(iterable: Optional[Iterable] = None, desc: str = "", total: Optional[int] = None, unit: str = "it", **kwargs: Any):
    """A tqdm progress bar (disabled off rank 0 and when LMT_PROGRESS=0)."""
    from tqdm.auto import tqdm

    disable = not is_rank0() or os.environ.get("LMT_PROGRESS", "1") == "0"
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, dynamic_ncols=True, **kwargs)
