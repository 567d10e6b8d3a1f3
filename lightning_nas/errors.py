"""User-facing errors: one line naming the bad value and the valid choices, exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


class ConfigError(ValueError):
    """Bad user input (config value, path, architecture). Printed as one line, exit code 2."""


def choice_error(what: str, value: object, valid: Iterable[object]) -> ConfigError:
    """`unknown <what> 'value'; valid: a, b, c`."""
    return ConfigError(f"unknown {what} {value!r}; valid: {', '.join(map(str, valid))}")


def check_choice(what: str, value: object, valid: Iterable[object]) -> None:
    valid = list(valid)
    if value not in valid:
        raise choice_error(what, value, valid)


def check_path(what: str, path: object) -> None:
    """Raise ConfigError when `path` does not exist."""
    from pathlib import Path

    if path is None or not Path(str(path)).expanduser().exists():
        raise ConfigError(f"{what} not found: {path!s}")


def one_line_reason(err: BaseException) -> str:
    """Why an operation failed, in a few words on one line: an OSError's strerror (without its repeated
    path), else the message with its whitespace collapsed, else the exception's type name."""
    text = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return " ".join(text.split()) or type(err).__name__


def first_of(items: list[str], limit: int, sep: str = "; ") -> str:
    """The first `limit` items joined by `sep`, then ` and N more`: a list that keeps an error on one line."""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return sep.join(items[:limit]) + more


def cli_entry(main: F) -> F:
    """Wrap a CLI `main` so that ConfigError becomes `error: ...` on stderr and exit code 2, and Ctrl-C
    (where the CLI has no resume hint of its own) `interrupted` and exit code 130, never a traceback."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return main(*args, **kwargs)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]
