"""An argparse parser for the CLIs that take plain arguments (report, export): a bad argument is a
one-line ConfigError (`error: ...`, exit code 2), not argparse's usage block."""

from __future__ import annotations

import argparse
from typing import NoReturn

from lightning_nas.errors import ConfigError


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see {self.prog} --help")
