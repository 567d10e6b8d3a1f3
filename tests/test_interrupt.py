"""`lightning_nas.interrupt.run_command`, the way every CLI runs as a process: a Ctrl-C that lands in a
finalizer (where Python would print "Exception ignored ... Traceback" and lose it) is delivered again and
stops the command; a Ctrl-C after the command returned (atexit, shutdown) is ignored. Each case is run
with and without `run_command`, so the test shows the traceback it prevents."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

IN_A_FINALIZER = """
import signal, sys, time

class Handle:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the Ctrl-C lands while a finalizer runs
        sum(range(1000))

def main():
    try:
        Handle()  # dropped at once: its finalizer runs here
        for _ in range(100):  # the command goes on working for a second
            time.sleep(0.01)
        print("finished without noticing the Ctrl-C")
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
"""

AFTER_RETURN = """
import atexit, signal, sys

def tidy_up():
    signal.raise_signal(signal.SIGINT)  # the Ctrl-C lands while Python tidies up after the command
    sum(range(100000))

def main():
    atexit.register(tidy_up)
    print("done")
    return 0
"""

RUN = {
    "run_command": "from lightning_nas.interrupt import run_command\nrun_command(main)\n",
    "plain": "raise SystemExit(main())\n",
}


def run(script: str, how: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script + RUN[how]], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("how", ["run_command", "plain"])
def test_a_ctrl_c_in_a_finalizer_stops_the_command(how):
    out = run(IN_A_FINALIZER, how)
    if how == "plain":  # what run_command prevents: a traceback, and the command goes on
        assert "Traceback" in out.stderr and "finished without noticing" in out.stdout and out.returncode == 0
    else:
        assert (out.returncode, out.stderr.strip(), out.stdout) == (130, "interrupted", "")


@pytest.mark.parametrize("how", ["run_command", "plain"])
def test_a_ctrl_c_after_the_command_returned_is_ignored(how):
    out = run(AFTER_RETURN, how)
    assert out.stdout == "done\n"
    if how == "plain":
        assert "Traceback" in out.stderr and "KeyboardInterrupt" in out.stderr
    else:
        assert (out.returncode, out.stderr) == (0, "")


def test_the_command_exit_code_and_errors_pass_through():
    script = "def main():\n    return 7\n" + RUN["run_command"]
    assert run(script, "run_command").returncode == 7
    failing = "def main():\n    raise SystemExit(2)\n" + RUN["run_command"]
    assert run(failing, "run_command").returncode == 2
