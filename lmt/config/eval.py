"""Config section ``eval:`` (owned by the eval stage; see its package docs)."""

from __future__ import annotations

from lmt.config.base import StrictModel


class EvalConfig(StrictModel):
    """Settings of the ``eval`` stage."""
