"""Shared fixtures: tiny configs that run the whole pipeline in seconds, and the ../shared data."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from lightning_nas.config import RunConfig, parse_config

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (the ../shared data folder is only beside the repo for tests)")
    return path


def tiny_overrides(tmp_path: Path) -> list[str]:
    return [
        "--data.name", "digits",
        "--data.resolution", "16",
        "--reference.train_epochs", "1",
        "--reference.cache_dir", str(tmp_path / "cache"),
        "--probe.pool", "64",
        "--probe.batch_size", "16",
        "--space.C", "4",
        "--space.N", "1",
        "--proxy.steps", "3",
        "--cost.metric", "flops",
        "--cost.budget", "12",
        "--search.population", "4",
        "--search.generations", "2",
        "--search.backend", "serial",  # the quick start's local workers are tested in test_backends.py
        "--runs_root", str(tmp_path / "runs"),
        "--tb_logs", str(tmp_path / "tb_logs"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a test module (use with `pytestmark = pytest.mark.usefixtures(...)`):
    on a shared 2-core machine two threads per process oversubscribe the cores and tiny nets crawl."""
    from tests.run_fixtures import one_thread

    with one_thread():
        yield


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    """`tiny_cfg(*extra_overrides) -> RunConfig` for a seconds-long search on digits."""

    def make(*extra: str) -> RunConfig:
        cfg, _ = parse_config(tiny_overrides(tmp_path) + list(extra))
        return cfg

    return make


@pytest.fixture(scope="session")
def cifar10_jpeg_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ../shared CIFAR-10 JPEG test split unpacked once per session (train/ is left out)."""
    archive = shared_file("cifar10", "cifar10-jpg.tar.gz")
    root = tmp_path_factory.mktemp("cifar10-jpg")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.lstrip("./").startswith("test/")]
        tar.extractall(root, members=members, filter="data")
    return root
