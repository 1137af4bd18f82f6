"""Eval fixtures: a FLORES-200-layout directory built from the shared parallel text,
a tiny COMET checkpoint, and an experiment-config writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


def write_flores(root: Path, text: dict[str, list[str]], split: str = "devtest") -> Path:
    """Original release layout: root/flores200_dataset/{split}/{code}.{split}."""
    d = root / "flores200_dataset" / split
    d.mkdir(parents=True, exist_ok=True)
    for code, lines in text.items():
        (d / f"{code}.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def flores_dir(tmp_path_factory, parallel_text) -> str:
    return str(write_flores(tmp_path_factory.mktemp("flores"), parallel_text))


@pytest.fixture(scope="session")
def tiny_comet(tmp_path_factory) -> str:
    from lmt.testing.comet import build_tiny_comet

    return build_tiny_comet(tmp_path_factory.mktemp("comet") / "regression", "regression")


@pytest.fixture
def make_config(tmp_path):
    """Write an experiment YAML with the given eval: section; returns its path."""

    def _make(eval_section: dict, name: str = "evaltest", **top) -> str:
        data = {"name": name, "run_dir": str(tmp_path / f"run_{name}"), **top, "eval": eval_section}
        path = tmp_path / f"{name}.yaml"
        path.write_text("# lmt eval " + str(path) + "\n" + yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    return _make
