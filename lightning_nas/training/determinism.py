"""Same inputs, same weights: the process-wide torch settings a training run pins while it runs.

On a CPU a training run is bit-reproducible for a fixed torch thread count (the thread count decides how
floating-point sums are split, so another count gives other, equally valid, weights: it is part of every
key that identifies trained weights). `reproducible(threads)` holds the thread count fixed and asks torch
for deterministic algorithms (a warning, not an error, where an op has none, e.g. some CUDA kernels),
then restores both."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def reproducible(threads: int | None = None) -> Iterator[int]:
    """Within: torch at `threads` CPU threads (None: the current count) with deterministic algorithms;
    yields the thread count."""
    before = torch.get_num_threads()
    algorithms = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = before if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield threads
    finally:
        torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
