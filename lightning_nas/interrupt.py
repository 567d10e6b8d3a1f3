"""Ctrl-C, wherever it lands: the CLIs turn KeyboardInterrupt into a message (with how to resume) and
exit code 130, never a traceback. Two places Python would otherwise print one:

- **A Lightning fit.** `Trainer.fit` catches KeyboardInterrupt itself, sets SIGINT to be ignored and
  calls `sys.exit(1)`, so a Ctrl-C while a candidate, the reference or the winner trains would end the
  run with exit code 1 and no resume hint. `fit` turns that back into KeyboardInterrupt and restores
  the SIGINT handler.
- **Outside the command's own code** (`run_command`): in a finalizer (`__del__`, a weakref callback),
  where Python prints "Exception ignored in ..." with a traceback and loses the Ctrl-C, and after the
  command has returned (atexit callbacks, interpreter shutdown). `run_command` delivers a Ctrl-C a
  finalizer swallowed again, outside it, and ignores Ctrl-C once the command is done: its results are
  written, only tidying up is left."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from lightning_nas.errors import EXIT_INTERRUPTED

REDELIVER_S = 0.01  # how long after a finalizer swallowed a Ctrl-C it is sent again


def run_command(main: Callable[[], int | None]) -> NoReturn:
    """Run a CLI's `main` as this process (`raise SystemExit(main())`, with Ctrl-C handled as above)."""
    previous = sys.unraisablehook

    def redeliver(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # Sent again from a thread a moment later, when the finalizer (and this hook) have returned:
            # raised here, it would land in this hook and be printed as unraisable in turn.
            again = threading.Timer(REDELIVER_S, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
            again.daemon = True
            again.start()
        else:
            previous(unraisable)

    sys.unraisablehook = redeliver
    code: int | None = EXIT_INTERRUPTED
    try:
        code = main()
    except KeyboardInterrupt:  # between main's own handler and here
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.unraisablehook = previous
    raise SystemExit(code)


def fit(trainer: Any, module: Any, **kwargs: Any) -> None:
    """`trainer.fit(module, **kwargs)`, raising KeyboardInterrupt when Ctrl-C stopped it."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        trainer.fit(module, **kwargs)
    except SystemExit:
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        if main_thread and handler is not None and signal.getsignal(signal.SIGINT) is not handler:
            signal.signal(signal.SIGINT, handler)
