"""The convention every ``lmt`` sub-command follows, and the table of commands.

A sub-command is a callable ``main(argv: list[str]) -> int`` registered in the
``lmt.commands`` entry-point group (stage packages) or in :data:`lmt.cli.BUILTINS`
(commands of the core). It declares its options in a ``build_parser()``
function and is marked with :func:`command`, which attaches that function to
``main``; ``main`` parses with :func:`parse_args`::

    def build_prep_parser() -> argparse.ArgumentParser:
        ap = argparse.ArgumentParser(prog="lmt prep", ...)
        ...
        return ap

    @command(build_prep_parser)
    def prep_main(argv: list[str]) -> int:
        args = parse_args(build_prep_parser(), argv)

So the options of every command can be read without running it
(``tests/test_readme.py`` parses each command the README shows this way).
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
from typing import Callable

Main = Callable[[list[str]], int]


def command(build_parser: Callable[[], argparse.ArgumentParser]) -> Callable[[Main], Main]:
    """Mark ``main(argv)`` as an ``lmt`` sub-command whose options ``build_parser()`` declares."""

    def mark(main: Main) -> Main:
        main.build_parser = build_parser  # type: ignore[attr-defined]
        return main

    return mark


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` as every ``lmt`` command does: options and ``key=value``
    overrides in any order (``lmt prep CFG --num-workers 2 a=1`` keeps ``a=1``).

    A parser with sub-commands (``lmt select miwv ...``) takes the sub-command
    first; its own arguments then mix the same way.
    """
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None:
        return parser.parse_intermixed_args(argv)
    if not argv or argv[0] not in sub.choices:
        return parser.parse_args(argv)  # help, or the "invalid choice" error
    ns = sub.choices[argv[0]].parse_intermixed_args(argv[1:])
    setattr(ns, sub.dest, argv[0])
    return ns


def stage_commands() -> dict[str, Callable[[], Main]]:
    """Sub-commands of the installed stage packages: name -> loader of ``main``."""
    return {ep.name: ep.load for ep in entry_points(group="lmt.commands")}
