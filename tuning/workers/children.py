"""Child `tune` processes (a campaign's steps, a machine's workers) and the signals they get.

Each child starts in a session of its own, so a Ctrl-C at the terminal reaches the parent alone;
the parent passes it on once (a second SIGINT would cut short the child's own clean-up) and waits,
so the child records its running trial as failed and exits before the parent does.
"""

from __future__ import annotations

import signal
import subprocess

from tuning.workers.loop import Terminated


def spawn(argv: list[str], env: dict, **popen_kwargs) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, start_new_session=True, **popen_kwargs)


def signal_of(interrupt: KeyboardInterrupt) -> int:
    """The signal that raised `interrupt`: SIGTERM (workers.loop.Terminated) or SIGINT."""
    return signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT


def stop(children: list[subprocess.Popen], signum: int) -> None:
    """Pass `signum` to every child still running and wait until all have exited; a signal that
    arrives meanwhile is passed on too, and the wait goes on."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)
    for child in children:
        while True:
            try:
                child.wait()
                break
            except KeyboardInterrupt as again:
                if child.poll() is None:
                    child.send_signal(signal_of(again))


def wait_or_stop(child: subprocess.Popen) -> int:
    """The exit code of `child`; on Ctrl-C or SIGTERM, pass it on, wait for the child, then re-raise."""
    try:
        return child.wait()
    except KeyboardInterrupt as interrupt:
        stop([child], signal_of(interrupt))
        raise
