"""Typed experiment configuration (one YAML per experiment).

See :mod:`lmt.config.base` for loading/overrides and
:mod:`lmt.config.experiment` for the top-level schema. Each stage owns one
section module: ``prep``, ``select``, ``train``, ``eval``.
"""

from lmt.config.base import StrictModel, apply_overrides, config_hash, load_config, read_yaml, validate_config
from lmt.config.experiment import ExperimentConfig, load_experiment

__all__ = [
    "StrictModel",
    "ExperimentConfig",
    "apply_overrides",
    "config_hash",
    "load_config",
    "load_experiment",
    "read_yaml",
    "validate_config",
]
