"""Config section ``prep:`` (owned by the prep stage; see its package docs)."""

from __future__ import annotations

from lmt.config.base import StrictModel


class PrepConfig(StrictModel):
    """Settings of the ``prep`` stage."""
