"""Evaluation backends (serial, local workers, Ray): the same results whatever the backend, failures
isolated and retried, no orphan worker after Ctrl-C or kill -9, and bad settings refused up front."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lightning_nas.backends import CandidateFailure, build_backend
from lightning_nas.backends.faults import ENV
from lightning_nas.backends.resources import local_workers
from lightning_nas.backends.worker import take_gpu
from lightning_nas.config import parse_config
from lightning_nas.search.compare import result_differences, row_differences
from lightning_nas.search.engine import Search
from lightning_nas.search.fitness import fitness
from tests.conftest import REPO, tiny_overrides
from tests.run_fixtures import rows_of, tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BACKENDS = {
    "serial": ["--threads", "1"],
    "local1": ["--search.backend", "local", "--search.workers", "1"],
    "local2": ["--search.backend", "local", "--search.workers", "2"],
    "ray2": ["--search.backend", "ray", "--search.workers", "2"],
}




def test_every_backend_gives_the_same_results(tmp_path: Path) -> None:
    """The determinism promise: same config, seed and threads per candidate -> the same results.json and
    evaluation rows with serial, local (1 and 2 workers) and ray."""
    results, rows = {}, {}
    for name, extra in BACKENDS.items():
        cfg = tiny_config(tmp_path / name, "--cache.enabled", "false", "--search.generations", "3", *extra)
        results[name] = Search(cfg, callbacks=[]).run()
        rows[name] = rows_of(Path(cfg.run_dir))
        setup = json.loads((Path(cfg.run_dir) / "setup.json").read_text())
        assert setup["threads_per_candidate"] == 1 and setup["backend"] == name.rstrip("12")
    for name in BACKENDS:
        assert not result_differences(results[name], results["serial"]), name
        assert not row_differences(rows[name], rows["serial"]), name
    assert results["ray2"]["trained"] == results["serial"]["trained"] > 4


@pytest.fixture(scope="module")
def tiny_scorer(tmp_path_factory: pytest.TempPathFactory):
    """The tiny problem's evaluator (1 thread) and four distinct genotypes with their serial scores."""
    import random

    from lightning_nas.pipeline import build_problem, build_scorer

    tmp = tmp_path_factory.mktemp("scorer")
    cfg = tiny_config(tmp, "--threads", "1", "--cache.enabled", "false")
    problem = build_problem(cfg)
    scorer = build_scorer(problem)
    rng = random.Random(3)
    genotypes = list({problem.space.key(g): g for g in (problem.space.sample(rng) for _ in range(20))}.values())[:4]
    clean = [scorer.evaluator.evaluate(g).rmi for g in genotypes]
    return cfg, problem.space, scorer.evaluator, genotypes, clean


def _faults(tmp_path: Path, space, genotypes, spec: list[dict | None], monkeypatch) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({space.key(g): s for g, s in zip(genotypes, spec, strict=True) if s}))
    monkeypatch.setenv(ENV, str(path))


def _run_backend(cfg, evaluator, genotypes, *extra: str):
    from dataclasses import replace

    over, _ = parse_config([*tiny_overrides(Path("/tmp")), *extra])
    backend = build_backend(replace(cfg, search=over.search, ray=over.ray))
    backend.start(evaluator)
    try:
        return dict(backend.map(genotypes))
    finally:
        backend.close()


@pytest.mark.parametrize("backend", ["serial", "local", "ray"])
def test_failures_are_retried_once_then_recorded(backend, tiny_scorer, tmp_path, monkeypatch) -> None:
    """raise -> failure after two attempts; a non-finite score -> failure; a worker killed once (local,
    ray) -> retried on a fresh worker with the same score; the others are unaffected."""
    cfg, space, evaluator, genotypes, clean = tiny_scorer
    kill = {"fault": "kill", "times": 1} if backend != "serial" else None  # kill -9 of the test itself otherwise
    _faults(tmp_path, space, genotypes, [{"fault": "raise"}, {"fault": "nan"}, kill, None], monkeypatch)
    out = _run_backend(cfg, evaluator, genotypes, "--search.backend", backend, "--search.workers", "2")
    assert sorted(out) == [0, 1, 2, 3]
    assert isinstance(out[0], CandidateFailure) and "InjectedFault" in out[0].error and out[0].attempts == 2
    assert isinstance(out[1], CandidateFailure) and "NonFiniteScore" in out[1].error
    for i in (2, 3):
        assert not isinstance(out[i], CandidateFailure) and out[i].rmi == pytest.approx(clean[i], abs=1e-6)
    counts = sorted(p.read_text() for p in tmp_path.glob("faults.json.*.count"))
    assert counts == (["2", "2"] if backend == "serial" else ["2", "2", "2"])  # each fault tried twice


def test_a_failing_candidate_gets_a_finite_worst_fitness_and_is_not_cached(tmp_path, monkeypatch) -> None:
    first = tiny_config(tmp_path / "a", "--cache.path", str(tmp_path / "a.sqlite"))
    Search(first, callbacks=[]).run()
    victim = rows_of(Path(first.run_dir))[0]
    (tmp_path / "faults.json").write_text(json.dumps({victim["key"]: {"fault": "raise"}}))
    monkeypatch.setenv(ENV, str(tmp_path / "faults.json"))
    cfg = tiny_config(tmp_path / "b", "--cache.path", str(tmp_path / "b.sqlite"))
    Search(cfg, callbacks=[]).run()
    run = Path(cfg.run_dir)
    row = next(r for r in rows_of(run) if r["key"] == victim["key"])
    costs = [row["cost_flops"]]
    assert row["rmi"] is None and "InjectedFault" in row["error"]
    assert row["fitness"] == fitness(0.0, costs, [cfg.cost.budget]) and row["fitness"] > -1e9
    assert "InjectedFault" in (run / "evaluations.csv").read_text()
    from lightning_nas.rmi.cache import EvalCache

    with EvalCache(tmp_path / "b.sqlite") as cache:
        keys = {k for (k,) in cache.conn.execute("SELECT key FROM scores")}
    assert victim["key"] not in keys and len(keys) >= 3  # the others were stored


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _start_search(tmp_path: Path, run: str, *extra: str) -> subprocess.Popen:
    args = [*tiny_overrides(tmp_path), "--search.generations", "4", "--proxy.steps", "40", "--cache.enabled", "false"]
    return subprocess.Popen(
        [sys.executable, "-m", "lightning_nas.search", *args, "--search.backend", "local", "--search.workers", "2",
         "--run_dir", str(tmp_path / run), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for_workers(proc: subprocess.Popen, run_dir: Path, generation: int) -> set[int]:
    deadline = time.time() + 300
    while time.time() < deadline:
        ckpt = run_dir / "checkpoint.json"
        gen = json.loads(ckpt.read_text())["generation"] if ckpt.exists() else 0
        workers = _children(proc.pid)
        if gen >= generation and len(workers) >= 2:
            return workers
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError("the search did not start its workers")


def _gone(pids: set[int], seconds: float = 15) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return not any(_alive(p) for p in pids)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_kill_9_leaves_no_orphan_workers_and_resume_gives_the_same_result(tmp_path) -> None:
    proc = _start_search(tmp_path, "killed")
    workers = _wait_for_workers(proc, tmp_path / "killed", generation=1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _gone(workers), "worker processes outlived the killed search"
    resumed = subprocess.run(
        [sys.executable, "-m", "lightning_nas.search", "--resume", str(tmp_path / "killed"), "--tb_logs", str(tmp_path / "tb_logs")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    full = _start_search(tmp_path, "full")
    assert full.wait(timeout=600) == 0, full.communicate()[1][-2000:]
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("killed", "full"))
    assert not result_differences(a, b)
    assert not row_differences(rows_of(tmp_path / "killed"), rows_of(tmp_path / "full"))


def _wait_until_listening_to_ctrl_c(pid: int, seconds: float = 30) -> None:
    """Until the search process does not ignore SIGINT: around the submits that spawn workers it ignores it
    for a moment, by design (backends/local.py, `_workers_start_deaf_to_ctrl_c`: a Ctrl-C there is not
    seen), and the spawn can outlast the moment the worker shows up in /proc."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        ignored = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigIgn:"))
        if not int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.005)
    raise AssertionError("the search kept ignoring SIGINT")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.parametrize("delay", [0.0, 1.0], ids=["while-workers-start", "while-candidates-train"])
def test_ctrl_c_stops_every_worker_and_prints_the_resume_command(tmp_path, delay) -> None:
    proc = _start_search(tmp_path, "interrupted")
    workers = _wait_for_workers(proc, tmp_path / "interrupted", generation=0)
    time.sleep(delay)  # 0: the workers are still importing torch; 1: well inside a candidate's training
    _wait_until_listening_to_ctrl_c(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"--resume {tmp_path / 'interrupted'}" in err and "Traceback" not in err
    assert _gone(workers)


@pytest.mark.parametrize(
    "override,message",
    [
        (["--search.backend", "dask"], "unknown search.backend 'dask'; valid: serial, local, ray"),
        (["--search.workers", "0"], "search.workers must be an integer >= 1 or 'auto', got 0"),
        (["--search.workers", "many"], "search.workers must be an integer >= 1 or 'auto', got 'many'"),
        (["--search.threads_per_worker", "0"], "search.threads_per_worker must be >= 1, got 0"),
        (["--proxy.candidates_per_gpu", "0"], "proxy.candidates_per_gpu must be >= 1, got 0"),
        (["--search.backend", "ray", "--ray.address", "127.0.0.1:1"], "cannot reach a Ray cluster at ray.address '127.0.0.1:1'"),
        (["--search.backend", "ray", "--ray.address", "nonsense"], "cannot reach a Ray cluster at ray.address 'nonsense'"),
        (["--search.backend", "ray", "--search.workers", "1", "--ray.num_cpus", "0"], "ray.num_cpus must be > 0"),
    ],
)
def test_bad_execution_settings_are_one_line_exit_2_and_leave_no_run_dir(tmp_path, capsys, override, message) -> None:
    from lightning_nas.search.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*tiny_overrides(tmp_path), *override])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {message}"), err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_gpu_asked_where_none_is_visible(tmp_path, capsys) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    from lightning_nas.search.cli import main

    with pytest.raises(SystemExit):
        main([*tiny_overrides(tmp_path), "--proxy.accelerator", "gpu"])
    assert "no CUDA GPU is visible here; use --proxy.accelerator cpu" in capsys.readouterr().err


def test_ray_backend_without_ray_installed_names_the_extra(tmp_path, capsys, monkeypatch) -> None:
    from lightning_nas.search.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SystemExit) as exit_info:
        main([*tiny_overrides(tmp_path), "--search.backend", "ray"])
    assert exit_info.value.code == 2
    assert "pip install -e '.[ray]'" in capsys.readouterr().err


def test_auto_workers_and_gpu_round_robin(monkeypatch) -> None:
    import lightning_nas.backends.resources as res

    cfg, _ = parse_config(["--search.threads_per_worker", "2", "--search.workers", "auto"])
    monkeypatch.setattr(res, "usable_cpus", lambda: 16)
    monkeypatch.setattr(res, "visible_gpus", lambda: 0)
    assert local_workers(cfg) == 8
    cfg.proxy.accelerator, cfg.proxy.candidates_per_gpu = "gpu", 4
    monkeypatch.setattr(res, "visible_gpus", lambda: 2)
    assert local_workers(cfg) == 8
    cfg.search.workers = 3
    assert local_workers(cfg) == 3
    slot = mp.get_context("spawn").Value("i", 0)
    assert [take_gpu(slot, 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


def test_precompute_with_workers_stores_the_serial_scores(tmp_path, capsys) -> None:
    from lightning_nas.precompute import main
    from lightning_nas.rmi.cache import EvalCache

    stored = {}
    for name, extra in [("serial", ["--threads", "1"]), ("local", ["--search.backend", "local", "--search.workers", "2"])]:
        db = tmp_path / f"{name}.sqlite"
        assert main([*tiny_overrides(tmp_path), "--cache.path", str(db), "--limit", "4", *extra]) == 0
        assert f"4 scored, 0 already cached, 4 in all ({name} backend)" in capsys.readouterr().out
        with EvalCache(db) as cache:
            stored[name] = dict(cache.conn.execute("SELECT key || score_hash, rmi FROM scores"))
    assert stored["serial"].keys() == stored["local"].keys()  # the same score key: threads per candidate 1
    assert all(stored["serial"][k] == pytest.approx(v, abs=1e-6) for k, v in stored["local"].items())


def test_costs_are_never_priced_while_candidates_train(tmp_path, monkeypatch) -> None:
    """Timing-based costs (measured latency) must not run while workers load the cores: every genotype
    is priced in the search process before its generation is dispatched."""
    import lightning_nas.search.engine as engine
    from lightning_nas.backends.serial import SerialBackend

    events: list[str] = []

    class Spy(SerialBackend):
        def map(self, genotypes):
            events.append("dispatch")
            yield from super().map(genotypes)
            events.append("done")

    monkeypatch.setattr(engine, "build_backend", lambda cfg: Spy())
    search = Search(tiny_config(tmp_path, "--cache.enabled", "false"), callbacks=[])
    priced = search.problem.costs
    monkeypatch.setattr(search.problem, "costs", lambda g: events.append("cost") or priced(g))
    search.run()
    assert events.count("dispatch") == events.count("done") == 2 and "cost" in events
    busy = False
    for event in events:
        assert not (busy and event == "cost"), events
        busy = {"dispatch": True, "done": False}.get(event, busy)


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        try:
            kids = _children(todo.pop())
        except FileNotFoundError:
            continue
        out |= kids
        todo += list(kids)
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_kill_9_with_ray_leaves_no_candidate_running(tmp_path) -> None:
    """Ray's own processes (gcs, raylet, workers) share the fate of the search that started them; its
    dashboard and runtime-env agents follow within Ray's parent check (about a minute)."""
    proc = _start_search(tmp_path, "ray", "--search.backend", "ray", "--proxy.steps", "400")
    deadline = time.time() + 300
    while time.time() < deadline and not (tmp_path / "ray" / "evaluations.jsonl").exists():
        time.sleep(0.2)
    ray_procs = _descendants(proc.pid)
    assert len(ray_procs) >= 4, ray_procs
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _gone(ray_procs, seconds=240), "Ray processes outlived the killed search"


def test_a_ray_node_with_other_versions_is_refused(tiny_scorer) -> None:
    """Every Ray worker checks the search's lightning_nas and torch versions against its own before it
    scores anything; a mismatch stops the search with one line naming both."""
    import ray

    from lightning_nas.errors import ConfigError

    cfg, _space, evaluator, genotypes, _clean = tiny_scorer
    over, _ = parse_config([*tiny_overrides(Path("/tmp")), "--search.backend", "ray", "--search.workers", "1"])
    from dataclasses import replace

    backend = build_backend(replace(cfg, search=over.search, ray=over.ray))
    try:
        backend.start(evaluator)
        backend.payload = [ray.put({"evaluator": evaluator, "versions": {"lightning_nas": "0.0.1", "torch": "1.0"}})]
        with pytest.raises(ConfigError, match=r"runs lightning_nas .* but the search runs lightning_nas 0\.0\.1, torch 1\.0"):
            list(backend.map(genotypes[:1]))
    finally:
        backend.close()


@pytest.mark.slow
def test_a_search_joins_a_running_ray_cluster(tmp_path) -> None:
    """`ray start --head` (token authentication, Ray's default), then a search with --ray.address: the
    package reaches the workers through runtime_env and the result equals the serial run's; without the
    token mode the refusal says what to set."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray_bin = Path(sys.executable).parent / "ray"
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
         "--include-dashboard", "false", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None, "ray start --head exited"
            time.sleep(0.5)
        else:
            raise AssertionError("the Ray head did not open its port")
        base = [*tiny_overrides(tmp_path), "--cache.enabled", "false", "--threads", "1"]
        args = [*base, "--search.backend", "ray", "--ray.address", f"127.0.0.1:{port}"]
        run = lambda name, e: subprocess.run(  # noqa: E731
            [sys.executable, "-m", "lightning_nas.search", *args, "--run_dir", str(tmp_path / name)],
            cwd=REPO, env=e, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        joined = run("joined", env)
        assert joined.returncode == 0, joined.stderr[-2000:]
        refused = run("refused", {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"})
        assert refused.returncode == 2 and "RAY_AUTH_MODE=token" in refused.stderr.strip().splitlines()[-1]
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
    serial, _ = parse_config([*base, "--run_dir", str(tmp_path / "serial")])
    expected = Search(serial, callbacks=[]).run()
    assert not result_differences(json.loads((tmp_path / "joined" / "results.json").read_text()), expected)
