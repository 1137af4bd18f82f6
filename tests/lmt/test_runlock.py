"""One writer per output directory: a live holder refuses, a killed one is taken over."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lmt.runlock import LOCK_NAME, RunLockedError, run_lock

ROOT = Path(__file__).resolve().parents[2]
HOLD = "import sys, time; from lmt.runlock import run_lock\nwith run_lock(sys.argv[1], 'lmt prep held.yaml'):\n    print('held', flush=True); time.sleep(60)\n"


def test_live_holder_refuses_and_killed_holder_is_taken_over(tmp_path, caplog):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=rf"in use by another run: pid {holder.pid} on host .* \(lmt prep held.yaml\)"):
            with run_lock(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with caplog.at_level(logging.WARNING, logger="lmt.runlock"), run_lock(out, "lmt prep again.yaml"):
        assert "again.yaml" in (out / LOCK_NAME).read_text()
    assert f"taking over the lock left by a run that ended without releasing it: pid {holder.pid}" in caplog.text
    with run_lock(out):  # released cleanly: no warning the next time
        pass
    assert caplog.text.count("taking over") == 1
