"""The strategy and backend plug-ins: every registered strategy runs a tiny search and answers through
its class; every registered backend answers what the search asks of it and is in the backend contract
(`test_backends.py`: the same results whatever the backend); Ray's module is imported only when asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lightning_nas.backends import BACKENDS
from lightning_nas.search.strategy import STRATEGIES, Strategy
from lightning_nas.settings import check_search
from tests import test_backends
from tests.conftest import REPO

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_registered_strategy_runs_a_tiny_search(name, tiny_cfg):
    from lightning_nas.search.engine import Search

    cfg = tiny_cfg("--search.algorithm", name, "--cache.enabled", "false")
    search = Search(cfg, callbacks=[])
    strategy = STRATEGIES.get(name)
    assert issubclass(strategy, Strategy) and search.strategy is strategy
    results = search.run()
    assert results["algorithm"] == name and results["generations"] == cfg.search.generations
    assert results["constraint_handling"] == strategy.constraint_handling(cfg.search)
    assert [r["gen"] for r in results["logbook"]] == list(range(cfg.search.generations))
    assert all(k in results["logbook"][-1] for k in strategy.generation_metrics)
    assert results["best"]["key"] in search.records.entries and results["hall_of_fame"]
    assert strategy.goal(search.objectives, cfg.search)


def test_every_registered_backend_is_in_the_backend_contract(tiny_cfg):
    assert {name.rstrip("0123456789") for name in test_backends.BACKENDS} == set(BACKENDS.names())
    cfg = tiny_cfg()
    for name in BACKENDS.names():
        entry = BACKENDS.get(name)
        assert entry.trains_elsewhere(cfg) is False
        assert entry.threads(cfg) in (cfg.threads, cfg.search.threads_per_worker)


def test_ray_is_imported_only_when_asked_for():
    probe = (
        "import sys\n"
        "from lightning_nas.backends import BACKENDS, threads_per_candidate\n"
        "from lightning_nas.config import RunConfig\n"
        "assert BACKENDS.names() == ('serial', 'local', 'ray')\n"
        "threads_per_candidate(RunConfig())\n"
        "assert 'lightning_nas.backends.ray_backend' not in sys.modules\n"
        "assert BACKENDS.get('ray').load().name == 'ray'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_an_unknown_name_lists_the_registered_ones():
    from lightning_nas.config import GAConfig
    from lightning_nas.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown search.backend 'slurm'; valid: serial, local, ray"):
        check_search(GAConfig(backend="slurm"))
    with pytest.raises(ConfigError, match=r"unknown search.algorithm 'cmaes'; valid: ga, nsga2"):
        check_search(GAConfig(algorithm="cmaes"))
