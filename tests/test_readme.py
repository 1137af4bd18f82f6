"""The documentation cannot drift from the CLI: every ``lmt`` command it shows parses.

What is checked, without running any command:

* every ``lmt ...`` command in a fenced code block of the READMEs
  (:data:`DOCS`) and on the first line of each shipped YAML (the command that
  runs it) names an installed sub-command, and its options and arguments parse
  with that command's real argparse parser (``--help`` level);
* each ``key=value`` override is well formed, and when the command names a
  shipped config file (``recipes/configs/qwen3_4b.yaml``) that file exists and
  loads with those overrides (so the keys exist and the values validate);
  ``CONFIG``-style placeholders are parsed but not loaded;
* every sub-command declares its parser and is shown in README.md.

Shell syntax understood: ``\\`` line continuations, ``#`` comments, commands
joined by ``&&``, ``||``, ``;`` or ``|``, ``VAR=value``
prefixes and ``export VAR=value`` lines (applied while loading configs), and
``uv run lmt ...``.

A new sub-command is covered automatically when it follows the convention of
:mod:`lmt.commands`: its ``main(argv)`` is registered in the ``lmt.commands``
entry-point group of ``pyproject.toml`` (then ``uv sync``), declares its options
in a ``build_parser()`` function, is marked ``@command(build_parser)`` and parses
with ``lmt.commands.parse_args``. A command that does not is reported by
``test_every_command_declares_its_parser``; one the README never shows, by
``test_readme_shows_every_command``. Nothing here is skipped or tolerated.
"""

from __future__ import annotations

import io
import re
import shlex
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lmt.cli import all_commands
from lmt.commands import parse_args
from lmt.config import load_experiment
from lmt.config.base import parse_override

ROOT = Path(__file__).resolve().parents[1]
#: Documentation whose fenced commands are checked.
DOCS = ["README.md", "eval/README.md"]
#: Shipped configs whose first line is the command that runs them.
CONFIG_DIRS = ["recipes/configs", "data_prep/configs", "eval/configs"]
_SEPARATORS = {"&&", "||", ";", "|"}  # anything else (redirections, subshells) fails the parse
_FENCE = re.compile(r"^\s*(```|~~~)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Example:
    """One ``lmt`` command as written in a file."""

    where: str  # file:line
    argv: list[str]  # after "lmt"
    env: dict[str, str] = field(default_factory=dict)


def _commands_in(text: str, where: str, env: dict[str, str]) -> list[Example]:
    """``lmt`` commands of one shell line (``env`` collects ``export`` lines)."""
    out = []
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True  # words end at spaces and at ; & | ( ) < > only
    words = list(lexer)
    segment: list[str] = []
    for word in [*words, ";"]:
        if word not in _SEPARATORS:
            segment.append(word)
            continue
        if segment[:1] == ["export"]:
            env.update(w.split("=", 1) for w in segment[1:] if "=" in w)
        prefix = {}
        while segment and _ASSIGNMENT.match(segment[0]):
            key, value = segment.pop(0).split("=", 1)
            prefix[key] = value
        if segment[:2] == ["uv", "run"]:
            segment = segment[2:]
        if segment[:1] == ["lmt"]:
            out.append(Example(where, segment[1:], {**env, **prefix}))
        segment = []
    return out


def fenced_commands(path: Path) -> list[Example]:
    """Every ``lmt`` command inside the fenced code blocks of a Markdown file."""
    examples: list[Example] = []
    inside = False
    env: dict[str, str] = {}
    pending, start = "", 0
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line):
            inside, env = not inside, {}
            continue
        if not inside:
            continue
        if not pending:
            start = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        examples += _commands_in(pending + line, f"{path.relative_to(ROOT)}:{start}", env)
        pending = ""
    return examples


def config_headers() -> list[Example]:
    """The command on the first line of every shipped YAML."""
    examples: list[Example] = []
    for folder in CONFIG_DIRS:
        for path in sorted((ROOT / folder).glob("*.yaml")):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith("# "), f"{path}: the first line must be a comment with the command that runs it"
            found = _commands_in(first[2:], f"{path.relative_to(ROOT)}:1", {})
            assert found, f"{path}: the first line shows no `lmt` command: {first!r}"
            examples += found
    return examples


README_COMMANDS = [e for doc in DOCS for e in fenced_commands(ROOT / doc)]
HEADER_COMMANDS = config_headers()


def _parse(argv: list[str]):
    """Parse ``lmt ARGV`` with the command's own parser; ``(namespace or None, argparse output)``."""
    name, rest = argv[0], argv[1:]
    commands = all_commands()
    assert name in commands, (
        f"no `lmt {name}` command (installed: {', '.join(sorted(commands))}; "
        "after adding an entry point to pyproject.toml, run `uv sync`)"
    )
    parser = commands[name]().build_parser()
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            return parse_args(parser, rest), out.getvalue()
        except SystemExit as stop:
            assert stop.code == 0, f"`lmt {shlex.join(argv)}` does not parse:\n{out.getvalue()}"
            return None, out.getvalue()  # --help


def _check(example: Example, monkeypatch) -> None:
    ns, _ = _parse(example.argv)
    if ns is None:
        return
    overrides = list(getattr(ns, "overrides", None) or [])
    for text in overrides:
        parse_override(text)
    config = getattr(ns, "config", None)
    if config and config.endswith((".yaml", ".yml")):
        path = ROOT / config
        assert path.is_file(), f"{example.where}: {config} does not exist in the repository"
        for key, value in example.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(ROOT)
        load_experiment(config, overrides)


def test_every_command_declares_its_parser():
    for name, load in sorted(all_commands().items()):
        main = load()
        assert hasattr(main, "build_parser"), (
            f"`lmt {name}` ({main.__module__}.{main.__name__}) has no build_parser: follow lmt.commands' convention"
        )
        assert main.build_parser().prog.split()[:2] == ["lmt", name]


def test_readme_shows_every_command():
    shown = {e.argv[0] for e in README_COMMANDS if e.argv}
    missing = sorted(set(all_commands()) - shown)
    assert not missing, f"README.md shows no example of: {', '.join(f'lmt {m}' for m in missing)}"


def test_documents_have_commands():
    assert len(README_COMMANDS) >= 20 and len(HEADER_COMMANDS) >= len(list((ROOT / "recipes/configs").glob("*.yaml")))


@pytest.mark.parametrize("example", README_COMMANDS + HEADER_COMMANDS, ids=lambda e: f"{e.where} lmt {' '.join(e.argv[:2])}")
def test_documented_command_parses(example, monkeypatch):
    _check(example, monkeypatch)


def test_a_drifted_command_is_caught(monkeypatch):
    """The checks above fail on what drift looks like (so they cannot pass whatever the docs say)."""
    for text in (
        "lmt trian sft recipes/configs/qwen3_4b.yaml",  # no such command
        "lmt train sft recipes/configs/qwen3_4b.yaml --gpus 8",  # no such option
        "lmt run recipes/configs/demo.yaml --stages prep evaluate",  # no such stage
        "lmt train sft recipes/configs/qwen3_5b.yaml",  # no such file
        "lmt train sft recipes/configs/qwen3_4b.yaml train.sft.learning_rat=1e-5",  # no such key
        "lmt eval eval/configs/own_sft.yaml run_dir=${config_dri}/x",  # no such variable
        "lmt prep CONFIG prep.num_workers",  # not key=value
    ):
        (example,) = _commands_in(text, "test", {})
        with pytest.raises(Exception):
            _check(example, monkeypatch)


def test_shell_syntax_of_examples():
    env: dict[str, str] = {}
    found = _commands_in("export A=1 && B=2 uv run lmt prep x.yaml k=v | tee log; lmt stats d  # lmt no", "t", env)
    assert [e.argv for e in found] == [["prep", "x.yaml", "k=v"], ["stats", "d"]]
    assert found[0].env == {"A": "1", "B": "2"} and env == {"A": "1"}
