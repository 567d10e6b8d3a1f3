"""Ctrl-C during a Lightning fit. `Trainer.fit` catches KeyboardInterrupt itself, sets SIGINT to be
ignored and calls `sys.exit(1)`, so a Ctrl-C while a candidate, the reference or the winner trains
would end the run with exit code 1 and no resume hint. `fit` turns that back into KeyboardInterrupt
(the CLIs then print how to resume and exit 130) and restores the SIGINT handler."""

from __future__ import annotations

import signal
import threading
from typing import Any


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
