"""The ``lmt`` command.

Sub-commands come from the ``lmt.commands`` entry-point group, so each stage
package registers its own (``prep`` -> ``data_prep.cli:prep_main``) and ``lmt``
never imports a stage package directly. Every sub-command is a callable
``main(argv: list[str]) -> int`` that declares its options in a
``build_parser()`` (the convention of :mod:`lmt.commands`). User errors
(:class:`LMTError`) print one clear message and exit with status 2;
``LMT_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional

from lmt.commands import Main, command, parse_args, stage_commands
from lmt.errors import LMTError

BUILTIN_HELP = {
    "languages": "list the language registry (LMT-60 and FLORES-200)",
    "directions": "list directions of a spec: all, en2x, x2zh, low, en-ky ...",
    "run": "run an experiment end to end: synth -> prep -> train init/cpt -> select -> train sft/grpo -> eval",
    "demo": "the whole pipeline at toy scale on CPU on the bundled sample data",
    "synth": "translate monolingual text with a model into synthetic pairs for prep",
    "prep": "filter, pivot and downsample OPUS corpora into training data",
    "stats": "print the per-direction data card of a prep output",
    "select": "data selection: MIWV or M-DaQ",
    "train": "training: init (tokenizer + tiny model), cpt, sft, grpo under deepspeed",
    "eval": "translate FLORES-200 and score (COMET, chrF, chrF++, BLEU)",
    "score": "score existing hypothesis files",
    "compare": "per-direction and per-group deltas between two eval runs",
}


def _languages_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lmt languages", description=BUILTIN_HELP["languages"])
    ap.add_argument("--all", action="store_true", help="include FLORES-200 languages beyond LMT-60")
    return ap


@command(_languages_parser)
def _languages_main(argv: list[str]) -> int:
    from lmt.languages import all_languages, lmt_languages

    args = parse_args(_languages_parser(), argv)
    langs = all_languages() if args.all else lmt_languages()
    print(f"{'code':<10} {'short':<5} {'iso1':<4} {'tier':<6} name")
    for lang in langs:
        print(f"{lang.code:<10} {lang.short:<5} {lang.iso639_1:<4} {lang.tier:<6} {lang.name}")
    return 0


def _directions_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lmt directions", description=BUILTIN_HELP["directions"])
    ap.add_argument("spec", nargs="*", default=["all"], help="all, a group (en2x), a tier (low) or pairs (en-ky)")
    return ap


@command(_directions_parser)
def _directions_main(argv: list[str]) -> int:
    from lmt.languages import parse_directions

    args = parse_args(_directions_parser(), argv)
    dirs = parse_directions(args.spec)
    for d in dirs:
        print(f"{d}\t{d.group}\t{d.tier}")
    print(f"# {len(dirs)} directions", file=sys.stderr)
    return 0


def _pipeline(name: str) -> Callable[[], Main]:
    def load() -> Main:
        from lmt import pipeline  # imported on use: it loads the config machinery

        return getattr(pipeline, name)

    return load


#: Commands of the core: name -> loader of ``main`` (as entry points load theirs).
BUILTINS: dict[str, Callable[[], Main]] = {
    "languages": lambda: _languages_main,
    "directions": lambda: _directions_main,
    "run": _pipeline("run_main"),
    "demo": _pipeline("demo_main"),
}


def all_commands() -> dict[str, Callable[[], Main]]:
    """Every ``lmt`` sub-command, built in or installed: name -> loader of ``main``."""
    return {**stage_commands(), **BUILTINS}


def _usage(cmds: dict) -> str:
    lines = ["usage: lmt COMMAND [args...]", "", "commands:"]
    for name in sorted(cmds):
        doc = BUILTIN_HELP.get(name, "")
        lines.append(f"  {name:<12} {doc}".rstrip())
    lines.append("")
    lines.append("`lmt COMMAND --help` shows a command's options.")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the ``lmt`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv else "--help"
    try:
        return _dispatch(name, argv[1:])
    except LMTError as err:
        if os.environ.get("LMT_DEBUG"):
            raise
        print(f"lmt {name}: error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # `lmt languages | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print(f"lmt {name}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _dispatch(name: str, rest: list[str]) -> int:
    cmds = all_commands()
    if name in ("-h", "--help", "help"):
        print(_usage(cmds))
        return 0
    if name in ("-V", "--version"):
        from lmt import __version__

        print(f"lmt {__version__}")
        return 0
    if name not in cmds:
        print(f"lmt: unknown command {name!r}\n\n{_usage(cmds)}", file=sys.stderr)
        return 2
    return int(cmds[name]()(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
