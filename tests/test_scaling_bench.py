"""benchmarks/bench_scaling.py (backend throughput) and benchmarks/device_check.sh (the GPU machine's
one-shot check): their pure parts, and each run end to end at toy size (CIFAR-10 JPEGs from ../shared,
real proxy trainings; about 30 s each on a 2-core CPU)."""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))

import bench_scaling  # noqa: E402
import device_check  # noqa: E402

LAST_LINE = re.compile(r"^local_speedup=(\d+\.\d{3}) ray_speedup=(\d+\.\d{3}) identical=(true|false)$")


def _rows(*per_setting: tuple[str, list[float]]) -> list[dict]:
    return [{"setting": name, "cand_per_s": v, "map_s": 1 / v, "startup_s": 0.5, "failures": 0} for name, vs in per_setting for v in vs]


def test_summary_speedups_against_the_faster_serial_run() -> None:
    rows = _rows(("serial_1t", [1.0, 1.2]), ("serial_2t", [1.5, 1.3]), ("local_2x1", [2.8, 2.8]), ("ray_2x1", [2.5, 2.6]))
    same = [[2.5, 2.25], [2.5, 2.25]]
    rmi = {"serial_1t": same, "serial_2t": [[2.4, 2.2], [2.4, 2.2]], "local_2x1": same, "ray_2x1": same}
    s = bench_scaling.summarise(bench_scaling.SETTINGS, rows, rmi)
    assert s["faster_serial"] == "serial_2t"  # median 1.4 vs 1.1
    assert s["local_speedup"] == pytest.approx(2.8 / 1.4) and s["ray_speedup"] == pytest.approx(2.55 / 1.4)
    assert s["goal_local_met"] and s["goal_ray_met"]  # 2.0 >= 1.5, 2.55 / 2.8 >= 0.9
    assert s["identical"] and s["identical_among"] == ["serial_1t", "local_2x1", "ray_2x1"]
    assert s["max_abs_rmi_diff_2t_vs_1t"] == pytest.approx(0.1)  # reported, not part of `identical`


def test_summary_identical_needs_every_score_within_tolerance() -> None:
    rows = _rows(("serial_1t", [1.0]), ("serial_2t", [1.0]), ("local_2x1", [1.8]), ("ray_2x1", [1.5]))
    base = {"serial_1t": [[2.5]], "serial_2t": [[2.5]], "local_2x1": [[2.5]]}
    off = bench_scaling.summarise(bench_scaling.SETTINGS, rows, base | {"ray_2x1": [[2.5 + 5e-6]]})
    assert not off["identical"] and off["max_abs_rmi_diff_1thread"] == pytest.approx(5e-6)
    assert not off["goal_ray_met"]  # 1.5 / 1.8 < 0.9
    failed = bench_scaling.summarise(bench_scaling.SETTINGS, rows, base | {"ray_2x1": [[None]]})
    assert not failed["identical"] and failed["max_abs_rmi_diff_1thread"] is None


def test_projection_is_startup_plus_generation_0_plus_99_later_generations() -> None:
    gens = [{"seconds": 30.0}, {"seconds": 20.0}, {"seconds": 24.0}]
    assert device_check.projection(10.0, gens) == pytest.approx(10 + 30 + 99 * 22)
    assert device_check.projection(10.0, gens[:1]) == pytest.approx(10 + 30 + 99 * 30)
    assert math.isnan(device_check.projection(10.0, []))


def test_cap_interrupts_a_blocked_main_thread_and_only_swallows_its_own_interrupt() -> None:
    start = time.monotonic()
    with device_check.Cap(0.2) as cap:
        time.sleep(10)
    assert cap.fired and time.monotonic() - start < 5
    with device_check.Cap(10) as cap:  # disarmed on exit: nothing fires later
        pass
    time.sleep(0.05)
    assert not cap.fired
    with pytest.raises(KeyboardInterrupt), device_check.Cap(10):
        raise KeyboardInterrupt  # not the cap's: propagates


def test_trainer_overhead_agreement_needs_every_repeat_within_1e_4() -> None:
    rows = [{"lightning_s": 2.0, "plain_s": 1.0, "rmi_lightning": 2.5, "rmi_plain": 2.5 + d} for d in (5e-5, 0.0)]
    summary = {"C": 16, "N": 5, "steps": 100, "repeats": 2, "lightning_median_s": 2.0, "plain_median_s": 1.0,
               "ratio_median": 2.0, "ratio_min": 2.0, "ratio_max": 2.0}  # fmt: skip
    ok = device_check.overhead_setting(rows, summary, 256)
    assert ok["rmi_agree"] and ok["rmi_max_abs_diff"] == pytest.approx(5e-5) and ok["batch"] == 256
    line = device_check.overhead_line(ok, "cuda:0")
    assert line == ("trainer_overhead: C16 N5 batch 256, 100 steps on cuda:0, 2 repeat(s): lightning 2.000 s, plain 1.000 s, "
                    "ratio 2.000 (min 2.000, max 2.000); RMI agrees (max |diff| 5.0e-05, tolerance 1e-04)")  # fmt: skip
    off = device_check.overhead_setting([*rows, {**rows[0], "rmi_plain": 2.5 + 2e-4}], summary, 32)
    assert off["rmi_agree"] is False and "RMI DIFFERS (max |diff| 2.0e-04" in device_check.overhead_line(off, "cuda:0")
    none = device_check.overhead_setting([], {**summary, "repeats": 0}, 32)
    assert none["rmi_agree"] is None
    assert device_check.overhead_line(none, "cpu").endswith(": SKIPPED (no repeat fitted before the time cap)")


@pytest.mark.slow  # ~40 s: the benchmark's pure parts are tested above; the default run stays under ~15 min
def test_bench_scaling_tiny_run(tmp_path: Path) -> None:
    shared_file("cifar10", "cifar10-jpg.tar.gz")
    pytest.importorskip("ray")
    out = tmp_path / "s"
    argv = ["--n", "2", "--steps", "2", "--repeats", "1", "--out", str(out)]
    run = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_scaling.py"), *argv],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    assert match.group(3) == "true", run.stdout[-2000:]  # serial 1 thread, local and ray agree to 1e-6
    with open(out / "repeats.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["setting"] for r in rows) == sorted(s.name for s in bench_scaling.SETTINGS)
    assert all(float(r["startup_s"]) >= 0 and float(r["map_s"]) > 0 and r["failures"] == "0" for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["identical"] is True and summary["n"] == 2
    assert f"{summary['local_speedup']:.3f}" == match.group(1)
    assert len((out / "rmi.csv").read_text().splitlines()) == 1 + 4 * 2
    assert (out / "command.txt").read_text().split()[2:] == argv and (out / "versions.json").exists()


def test_device_check_dry_run(tmp_path: Path) -> None:
    shared_file("cifar10", "cifar10-jpg.tar.gz")
    out = tmp_path / "d"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "device_check.sh"), "--dry-run"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    text = run.stdout
    assert run.returncode == 0, text[-3000:] + run.stderr[-2000:]
    lines = text.splitlines()
    # the paper-setting table first (at toy size: 4 classes of the priority order, 2 shards), then its coverage
    assert any(re.match(r"== section paper_table: rc=0, \d+ s", line) for line in lines), text
    assert [line.split(":")[0] for line in lines if re.match(r"shard \d: 2 archs", line)] == ["shard 0", "shard 1"], text
    assert any(line.startswith("coverage: 4 of 6466 classes (0.1 %)") for line in lines), text
    priority = [int(x) for x in (REPO / "benchmarks" / "tables" / "priority_nb201.txt").read_text().split() if x.isdigit()]
    built = json.loads((out / "rmi_table" / "rmi_nb201_tiny.json").read_text())
    assert built["classes_scored"] == 4 and built["complete"] is False
    from lightning_nas.spaces.nb201.isomorphism import classes
    from lightning_nas.spaces.nb201.space import NB201Space

    rep_of = {i: members[0] for members in classes(NB201Space(), "nb201").values() for i in members}
    with gzip.open(out / "rmi_table" / "rmi_nb201_tiny.csv.gz", "rt") as f:
        scored_as = {int(r["scored_as"]) for r in csv.DictReader(f)}
    assert scored_as == {rep_of[i] for i in priority[:4]}  # the first classes of the priority order
    assert any(re.match(r"== section search_throughput: rc=0, \d+ s", line) for line in lines), text
    assert any(re.match(r"== section gpu_cpu_rmi: rc=0, \d+ s", line) for line in lines), text
    assert any(re.match(r"== section trainer_overhead: rc=0, \d+ s", line) for line in lines), text
    for cpg in (1, 4, 8):
        assert any(line.startswith(f"candidates_per_gpu={cpg} workers=1: start-up ") for line in lines), text
    assert sum("EXTRAPOLATION" in line for line in lines) == 3
    assert any(re.match(r"search_throughput: best candidates_per_gpu=\d \d+\.\d{3} cand/s", line) for line in lines)
    assert "generation-0 RMI across candidates_per_gpu settings: 4 archs, max |diff| 0.0" in lines
    # The dry run scores both sides on the CPU at 1 thread: the comparison must find them equal.
    assert "gpu_cpu_rmi: n=3 of 3 |dRMI| median=0.000000 max=0.000000 kendall_tau=1.0000" in lines
    # trainer_overhead: Lightning vs the plain loop on the CPU at batch 16 and 32; the same computation, same RMI.
    for batch in (16, 32):
        pattern = (rf"trainer_overhead: C4 N1 batch {batch}, 3 steps on cpu, 2 repeat\(s\): lightning \d+\.\d{{3}} s, "
                   r"plain \d+\.\d{3} s, ratio \d+\.\d{3} \(min \d+\.\d{3}, max \d+\.\d{3}\); "
                   r"RMI agrees \(max \|diff\| 0\.0e\+00, tolerance 1e-04\)$")  # fmt: skip
        assert sum(bool(re.match(pattern, line)) for line in lines) == 1, text
    assert re.search(r"== device check done in \d+ s \(failed sections: 0\)", text)
    files = {p.name for p in out.iterdir()}
    assert files == {"device_check.log", "command.txt", "config.json", "versions.json", "search_throughput.json", "gpu_cpu_rmi.json",
                     "trainer_overhead.json", "rmi_table"}  # fmt: skip
    assert {p.name for p in (out / "rmi_table").iterdir()} >= {"shards", "record", "rmi_nb201_tiny.csv.gz"}
    result = json.loads((out / "search_throughput.json").read_text())
    assert [r["candidates_per_gpu"] for r in result["settings"]] == [8, 4, 1] and result["dry_run"] is True
    overhead = json.loads((out / "trainer_overhead.json").read_text())
    assert overhead["device"] == "cpu" and overhead["dry_run"] is True
    assert [(s["batch"], s["repeats"], s["rmi_agree"]) for s in overhead["settings"]] == [(16, 2, True), (32, 2, True)]
    for s in overhead["settings"]:
        assert len(s["rows"]) == 2 and all(r["ratio"] == pytest.approx(r["lightning_s"] / r["plain_s"]) for r in s["rows"])
        assert s["rmi_lightning"] == s["rmi_plain"] and s["ratio_min"] <= s["ratio_median"] <= s["ratio_max"]
    assert (out / "command.txt").read_text().splitlines()[0] == "benchmarks/device_check.sh --dry-run"
    commands = (out / "command.txt").read_text().splitlines()
    assert all(c.startswith("python benchmarks/build_rmi_table.py --profile tiny") for c in commands[1:3])
    assert [c.split()[3] for c in commands[3:]] == list(device_check.SECTIONS)


def test_device_check_sh_rejects_unknown_arguments() -> None:
    run = subprocess.run(["bash", str(REPO / "benchmarks" / "device_check.sh"), "--gpus", "2"], capture_output=True, text=True)
    assert run.returncode == 2 and "unknown argument '--gpus'" in run.stderr
