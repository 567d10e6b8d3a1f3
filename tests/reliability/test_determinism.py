"""Same seed, same machine, same answer: a reference trained here is bit-identical whatever the process did
before, however many loader workers feed it, whatever the global torch thread count, in another process
and under CPU load. The thread count it trains at is part of its cache key (another count splits the
floating-point sums differently: other, equally valid, weights under another key)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lightning_nas.config import ReferenceConfig
from lightning_nas.data import build_datamodule
from lightning_nas.reference.loader import build_architecture, build_reference, cache_key, train_reference

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[2]
CFG = ReferenceConfig(train_epochs=1)

# Trains the tiny reference in a fresh process at the global thread count argv[1] and the training thread
# count argv[2] and prints the weights' digest.
_CHILD = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from tests.reliability.test_determinism import train_digest
print(train_digest(threads=int(sys.argv[2])))
"""


def digest(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def train_digest(threads: int | None = None, num_workers: int = 0, draws: int = 0) -> str:
    """The tiny reference (ResNet-20, digits 16x16, one epoch, seed 0) trained from the seeded init."""
    dm = build_datamodule("digits", resolution=16, num_workers=num_workers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_architecture(CFG.arch, CFG.init_args, 10, 3)
    torch.rand(draws)  # whatever the process did before
    train_reference(model, dm, CFG, seed=0, **({} if threads is None else {"threads": threads}))
    return digest(model)


def test_reference_weights_do_not_depend_on_the_loader_workers() -> None:
    """data.num_workers is not in the cache key (loader settings train nothing), so it must not change the
    weights: before the fix the augmentation drew from each worker's own RNG (0 workers: the main
    process's), and one key held different weights depending on which run trained it first."""
    assert cache_key(CFG, build_datamodule("digits", num_workers=2), 0) == cache_key(CFG, build_datamodule("digits"), 0)
    assert train_digest(num_workers=2) == train_digest(num_workers=0)


def test_reference_is_bit_identical_in_process_and_in_other_processes_under_load() -> None:
    here = train_digest(threads=1)
    assert train_digest(threads=1, draws=7) == here  # the global RNG state does not matter
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # CPU load while the child trains
    try:  # another process, whose global thread count is 2: training pins it to 1
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, "2", "1"], cwd=REPO, capture_output=True, text=True, timeout=600, check=True
        )
    finally:
        burner.kill()
        burner.wait()
    assert child.stdout.split()[-1] == here


def test_the_training_thread_count_is_pinned_recorded_and_part_of_the_key(tmp_path: Path) -> None:
    from lightning_nas.training.determinism import reproducible

    dm = build_datamodule("digits", resolution=16)
    key = cache_key(CFG, dm, 0)
    with reproducible(threads=2) as threads:
        assert threads == torch.get_num_threads() == 2 and torch.are_deterministic_algorithms_enabled()
        assert cache_key(CFG, dm, 0)["threads"] == 2 != key["threads"]  # another count, another reference
    assert torch.get_num_threads() == key["threads"] and not torch.are_deterministic_algorithms_enabled()
    _, info = build_reference(ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path)), dm, seed=0)
    _, cached = build_reference(ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path)), dm, seed=0)
    assert info["threads"] == cached["threads"] == torch.get_num_threads()
    assert cached["cached"] and cached["test_acc"] == info["test_acc"]
