"""Config section ``train:`` (owned by the train stage; see its package docs)."""

from __future__ import annotations

from lmt.config.base import StrictModel


class TrainConfig(StrictModel):
    """Settings of the ``train`` stage."""
