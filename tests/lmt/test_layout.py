"""The project's layout rules: the core imports no stage, stages import no other stage, no machine paths."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE_PACKAGES = {"data_prep", "recipes", "eval"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_no_stage_package():
    """``lmt`` reaches the stages only through entry points and files (imports inside functions count too)."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_roots(p) & STAGE_PACKAGES)
        for p in sorted((ROOT / "lmt").rglob("*.py"))
        if _imported_roots(p) & STAGE_PACKAGES
    }
    assert not offenders, f"lmt/ imports stage packages: {offenders}"


def test_stages_import_no_other_stage():
    """``data_prep``, ``recipes`` and ``eval`` meet only through files (e.g. eval's
    off-target rate uses ``lmt.lid``, not data prep's filter)."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_roots(p) & (STAGE_PACKAGES - {stage}))
        for stage in sorted(STAGE_PACKAGES)
        for p in sorted((ROOT / stage).rglob("*.py"))
        if _imported_roots(p) & (STAGE_PACKAGES - {stage})
    }
    assert not offenders, f"stage packages import each other: {offenders}"


def test_the_check_sees_function_level_imports(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from data_prep.pipeline.downsample import Downsampler\n    import eval.report\n")
    assert _imported_roots(p) == {"data_prep", "eval"}


def test_no_machine_paths():
    """Nothing in the project points into one machine's file system."""
    machine = re.compile(r"(?<![\w.])/(work|home|Users)/\w")
    folders = ["lmt", "data_prep", "recipes", "eval", "benchmarks", "tools"]
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    files += [p for f in folders if (ROOT / f).is_dir() for p in (ROOT / f).rglob("*") if p.suffix in {".py", ".yaml", ".yml", ".md", ".json", ".toml", ".sh"}]
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in files for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if machine.search(line)]
    assert not hits, f"machine paths at {hits}"
