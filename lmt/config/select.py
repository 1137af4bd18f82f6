"""Config section ``select:`` (owned by the select stage; see its package docs)."""

from __future__ import annotations

from lmt.config.base import StrictModel


class SelectConfig(StrictModel):
    """Settings of the ``select`` stage."""
