"""Error types shared by every stage.

Every error a user can cause (bad config, bad data, missing resource) is an
:class:`LMTError`; the ``lmt`` command prints its message and exits non-zero
without a traceback. Messages always name the file, line or key at fault.
"""

from __future__ import annotations


class LMTError(Exception):
    """Base class for user-facing errors (printed without a traceback)."""

    exit_code = 2


class ConfigError(LMTError, ValueError):
    """A config file or override is invalid (unknown key, wrong type, typo)."""


class DataError(LMTError, ValueError):
    """Input data is malformed (misaligned files, bad XML, empty corpus...)."""


class UnknownLanguageError(LMTError, KeyError):
    """A language code is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingResourceError(LMTError, FileNotFoundError):
    """A model, dataset or file the command needs is absent; says how to get it."""
