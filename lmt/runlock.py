"""One writer per output directory: ``with run_lock(out_dir, "lmt prep"): ...``.

A run that writes a directory (prep output, a training stage's checkpoints, an
evaluation run) holds an exclusive ``fcntl.flock`` on ``DIR/.lmt.lock`` and
writes who it is into the file (pid, host, start time, command). A second run
on the same directory fails at once with one line naming the holder, instead of
racing it on temp files. The kernel drops the lock when its process dies
(even by ``kill -9``); a later run then finds the dead holder's details still in
the file, logs a warning and takes the lock over. On release the file is
emptied, not deleted: deleting it would let a waiting process lock a file that
no longer has a name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

from lmt.errors import LMTError
from lmt.log import get_logger

LOCK_NAME = ".lmt.lock"
log = get_logger("lmt.runlock")


class RunLockedError(LMTError):
    """Another live run holds the output directory."""


def _describe(info: dict) -> str:
    started = info.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since {when} ({info.get('command', '?')})"


def _read_info(fd: int) -> Optional[dict]:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 1 << 16):
        raw += chunk
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {"pid": "?", "host": "?", "command": raw[:80].decode("utf-8", "replace")}


@contextlib.contextmanager
def run_lock(directory: "str | Path", command: Optional[str] = None) -> Iterator[Path]:
    """Hold the output directory ``directory`` for this process (created if missing).

    Args:
        directory: the directory this run writes.
        command: what is running, shown to a second run (default: this
            process's command line).

    Yields:
        The lock file's path.

    Raises:
        RunLockedError: another live process holds the directory (the message
            names its pid, host, start time and command).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read_info(fd) or {}
            raise RunLockedError(
                f"{directory} is in use by another run: {_describe(info)}; wait for it to finish or stop it "
                "(a lock left by a dead process is taken over automatically)"
            ) from None
        except OSError as err:  # a file system without locks (some network mounts)
            log.warning("%s: cannot lock the directory (%s); make sure no other run writes it", directory, err)
            yield path
            return
        stale = _read_info(fd)
        if stale is not None:
            log.warning("%s: taking over the lock left by a run that ended without releasing it: %s", directory, _describe(stale))
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": command or " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode("utf-8"))
        os.fsync(fd)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
