"""User extensions named by dotted path in a config (``my_pkg.mod:Thing`` or ``my_pkg.mod.Thing``).

Filters (``prep.filters``) and rewards (``train.grpo.reward.terms``) load the
same way; a registry name has neither a dot nor a colon.
"""

from __future__ import annotations

import importlib
from typing import Any

from lmt.errors import ConfigError


def is_dotted_path(name: str) -> bool:
    """``pkg.mod:Thing`` or ``pkg.mod.Thing`` (a registry name has no dot/colon)."""
    return ":" in name or "." in name


def import_dotted(name: str, key: str, what: str) -> tuple[str, str, Any]:
    """``(module name, attribute name, the attribute or None)`` for a dotted path.

    Raises:
        ConfigError: the module does not import (naming ``key`` and ``what`` the path is for).
    """
    module_name, _, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"{key}: cannot import module {module_name!r} for {what} {name!r}: {err}") from None
    return module_name, attr, getattr(module, attr, None)
