"""benchmarks/proxy_fidelity.py: its pure parts (stratified sample, paired bootstrap, profile rule,
signal-to-noise) and a tiny study end to end (8 archs, 2 settings of 3 steps, a small CIFAR-10 tree),
run twice: the second run is served from the persistent cache."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.rmi.precompute import sample_genotypes
from lightning_nas.spaces.nb201.space import NB201Space, nb201_index
from lightning_nas.tables.nb201_csv import N_ARCHS
from tests.conftest import REPO, shared_file

sys.path.insert(0, str(REPO / "benchmarks"))

import proxy_fidelity as pf  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _order(seed: int) -> list[int]:
    return [nb201_index(g) for g in sample_genotypes(NB201Space(C=4, N=1), None, seed)]


def test_stratified_sample_is_equal_per_quintile_and_seeded() -> None:
    flops = np.array([float((i * 7919) % 1000) for i in range(N_ARCHS)])  # ties on purpose
    quintile = pf.flops_quintiles(flops)
    assert np.bincount(quintile).tolist() == [N_ARCHS // 5] * 5
    assert all(flops[quintile == q].max() <= flops[quintile == q + 1].min() for q in range(4))
    a, b, other = pf.stratified_order(_order(0), quintile, 50), pf.stratified_order(_order(0), quintile, 50), pf.stratified_order(_order(1), quintile, 50)
    assert a == b and a != other and len(set(a)) == 50
    assert np.bincount(quintile[a]).tolist() == [10] * 5
    assert quintile[a[:5]].tolist() == [0, 1, 2, 3, 4]  # interleaved: every prefix is balanced
    assert pf.stratified_order(_order(0), quintile, 20) == a[:20]  # a smaller sample is a prefix
    with pytest.raises(ValueError):
        pf.flops_quintiles(np.array([1.0, np.nan, 2.0, 3.0, 4.0]))


def test_paired_bootstrap_on_known_answers() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    assert pf.paired_bootstrap(y, y.copy(), y, 100) == (0.0, 0.0, 0.0)  # a setting against itself
    point, lo, hi = pf.paired_bootstrap(y, -y, y, 100)  # tau 1 vs tau -1 in every resample
    assert point == pytest.approx(2.0) and lo == pytest.approx(2.0) and hi == pytest.approx(2.0)
    noisy = y + rng.normal(scale=2.0, size=200)
    point, lo, hi = pf.paired_bootstrap(noisy, y, y, 300, seed=1)  # clearly worse than perfect
    assert lo <= point <= hi < 0
    point, lo, hi = pf.paired_bootstrap(y + rng.normal(scale=0.3, size=200), y + rng.normal(scale=0.3, size=200), y, 300)
    assert lo < 0 < hi and lo <= point <= hi  # two equally noisy scores: no significant difference
    assert pf.paired_bootstrap(y, y + 1.0, y, 50, seed=3) == pf.paired_bootstrap(y, y + 1.0, y, 50, seed=3)


def test_profile_rule_picks_the_cheapest_not_significantly_worse() -> None:
    rows = [
        {"setting": "best", "seconds_per_arch": 5.0, "table_hours": 10.0, "tau_cifar10": 0.7, "diff_lo": 0.0, "diff_hi": 0.0},
        {"setting": "ok", "seconds_per_arch": 1.0, "table_hours": 2.0, "tau_cifar10": 0.65, "diff_lo": -0.1, "diff_hi": 0.02},
        {"setting": "cheap_bad", "seconds_per_arch": 0.2, "table_hours": 0.4, "tau_cifar10": 0.4, "diff_lo": -0.4, "diff_hi": -0.2},
        {"setting": "ok_slow", "seconds_per_arch": 3.0, "table_hours": 6.0, "tau_cifar10": 0.69, "diff_lo": -0.05, "diff_hi": 0.03},
    ]
    assert pf.choose_profile(rows, 4.0)[0]["setting"] == "ok"
    assert pf.choose_profile(rows, None)[0]["setting"] == "ok"
    row, why = pf.choose_profile(rows, 1.0)  # nothing fits 1 h: the cheapest that is not worse, said so
    assert row["setting"] == "ok" and "none fits" in why
    assert pf.choose_profile(rows[:1] + rows[2:3], 4.0)[0]["setting"] == "best"
    assert pf.choose_profile([], 4.0)[0] is None


def test_signal_to_noise_and_top_precision() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert pf.snr(a, a) == math.inf
    d = np.array([0.1, -0.1, 0.1, -0.1])  # each arch moves by 0.1 between seeds: var (ddof 1) 0.1**2 / 2
    assert pf.snr(a, a + d) == pytest.approx(np.std(a + d / 2, ddof=1) / np.sqrt(0.1**2 / 2))
    assert pf.top_precision(np.arange(20.0), np.arange(20.0)) == 1.0
    assert pf.top_precision(-np.arange(20.0), np.arange(20.0)) == 0.0


def test_settings_skip_duplicates_of_the_base() -> None:
    settings, notes = pf.pick_settings(None, pf.BASE)
    names = [s.name for s in settings]
    assert "steps10" not in names and "lr0.1" not in names and "score_probe" not in names
    assert {"base", "steps100", "C16N5", "seeds3", "score_heldout"} <= set(names)
    assert any(n.startswith("steps10 = base") for n in notes) and any(n.startswith("score_probe = base") for n in notes)
    with pytest.raises(SystemExit):
        pf.pick_settings("base,nope", pf.BASE)


def _small_tree(root: Path, per_class: int = 40) -> Path:
    """A CIFAR-10 image tree of `per_class` train and 4 test images per class (links into the full one)."""
    from _common import cifar_root

    full = cifar_root()
    for split, n in (("train", per_class), ("test", 4)):
        for cls in sorted(p.name for p in (full / split).iterdir()):
            (root / split / cls).mkdir(parents=True)
            for f in sorted((full / split / cls).iterdir())[:n]:
                (root / split / cls / f.name).symlink_to(f)
    return root


def test_tiny_study_end_to_end_and_rerun_from_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared_file("cifar10", "cifar10-jpg.tar.gz")
    shared_file("nas-bench-201", "nb201_accuracy_cost.csv.gz")
    shared_file("hw-nas-bench", "nb201_hw_metrics.csv.gz")
    shared_file("reference", "resnet20-12fca82f.th")
    tree = _small_tree(tmp_path / "cifar")
    base = f"proxy.steps=3,space.C=4,space.N=1,data.resolution=16,probe.batch_size=16,probe.pool=64,data.root={tree}"
    out = tmp_path / "out"
    argv = ["--sample", "8", "--subsample", "5", "--settings", "base,score_heldout", "--base", base, "--threads", "1",
            "--bootstrap", "100", "--cache", str(tmp_path / "c.sqlite"), "--out", str(out), "--quiet"]  # fmt: skip
    assert pf.main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    first = json.loads((out / "summary.json").read_text())
    assert first["trained"] == 8 * 4 + 5 and first["looked_up"] == 0  # 2 settings x 2 replicates + 2 threads (subsample)

    with open(out / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    assert {"setting", "arch", "seed", "rmi", "seconds", "replicate", "threads", "cached"} <= set(scores[0])
    assert len(scores) == 37 and {r["setting"] for r in scores} == {"base", "score_heldout"}
    with open(out / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    prof = json.loads((out / "summary.json").read_text())["profile"]
    caps = [f"{prof}+cap{w}" for w in ("0.05", "0.1", "0.2", "0.3", "0.5")]
    assert [r["setting"] for r in summary] == ["base", "score_heldout", *caps, "baseline:flops", "baseline:params", "baseline:fast_table",
                                              "baseline:synflow"]  # fmt: skip
    cap_rows = {r["setting"]: r for r in summary if "+cap" in r["setting"]}
    assert all(float(r["gain_lo"]) <= float(r["gain_vs_profile"]) <= float(r["gain_hi"]) for r in cap_rows.values())
    assert first["capacity_weight"] in (0.05, 0.1, 0.2, 0.3, 0.5)
    for col in ("tau_cifar10", "rho_cifar10", "tau_cifar100", "tau_ImageNet16-120", "tau_q1", "tau_edgegpu_latency",
                "top10_precision", "seconds_per_arch", "self_tau", "snr_top20", "tau_diff", "diff_lo", "diff_hi"):  # fmt: skip
        assert col in summary[0], col
    for r in summary:
        for k in ("tau_cifar10", "tau_cifar100", "tau_ImageNet16-120", "tau_diff"):
            assert -1.0 <= float(r[k]) <= 1.0 or (k == "tau_diff" and -2.0 <= float(r[k]) <= 2.0)
        assert float(r["diff_lo"]) <= float(r["tau_diff"]) + 1e-12 and float(r["tau_diff"]) <= float(r["diff_hi"]) + 1e-12
    assert summary[0]["tau_threads"] != "" and -1.0 <= float(summary[0]["tau_threads"]) <= 1.0
    assert first["profile"] in ("base", "score_heldout") and last == f"fast_profile={first['profile']} kendall_tau=" + last.split("=")[-1]
    archs = list(csv.DictReader(open(out / "archs.csv")))
    assert len(archs) == 8 and {"index", "arch", "quintile", "flops_M", "cifar10", "synflow_log"} <= set(archs[0])
    assert sorted(int(a["quintile"]) for a in archs[:5]) == [1, 2, 3, 4, 5]
    assert {"README.md", "command.txt", "config.json", "versions.json"} <= {p.name for p in out.iterdir()}
    assert "| score_heldout | proxy.score_on probe->heldout |" in (out / "README.md").read_text()
    rmi = {(r["setting"], r["arch"], r["seed"]): float(r["rmi"]) for r in scores}
    assert any(rmi[("base", a, s)] != rmi[("score_heldout", a, s)] for _, a, s in rmi)  # scored on another batch

    assert pf.main(argv) == 0  # the rerun: look-ups only, same numbers
    again = json.loads((out / "summary.json").read_text())
    assert again["trained"] == 0 and again["looked_up"] == 37
    assert [r["tau_cifar10"] for r in again["settings"]] == [r["tau_cifar10"] for r in first["settings"]]
    assert [r["seconds_per_arch"] for r in again["settings"]] == [r["seconds_per_arch"] for r in first["settings"]]
    assert all(r["cached"] == "True" for r in csv.DictReader(open(out / "scores.csv")))


def test_a_longer_setting_scores_two_views_of_one_training_and_resumes_from_shards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting with `longer` (as the paper setting: 100 steps, on to 150) trains once and reports the score
    at its own step and at `longer`; its 2-step view equals a plain 2-step scoring of the same archs; the
    shards written while scoring serve a rerun whose cache is gone (a later session on a fresh machine)."""
    for args in (("cifar10", "cifar10-jpg.tar.gz"), ("nas-bench-201", "nb201_accuracy_cost.csv.gz"),
                 ("hw-nas-bench", "nb201_hw_metrics.csv.gz"), ("reference", "resnet20-12fca82f.th")):  # fmt: skip
        shared_file(*args)
    tree = _small_tree(tmp_path / "cifar", per_class=8)
    monkeypatch.setattr(pf, "SETTINGS", (*pf.SETTINGS, pf.Setting("long", {"proxy.steps": "2"}, replicates=1, longer=4)))
    archs = tmp_path / "archs.txt"
    archs.write_text("# four archs\n0\n1\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|\n7\n")
    base = f"proxy.steps=2,space.C=4,space.N=1,data.resolution=16,probe.batch_size=16,probe.pool=32,data.root={tree}"
    out, shards = tmp_path / "out", tmp_path / "shards"

    def run(cache: str) -> dict:
        argv = ["--archs", str(archs), "--settings", "base,long", "--base", base, "--thread_check", "0", "--no_synflow",
                "--bootstrap", "20", "--capacity_weights", "", "--cache", str(tmp_path / cache), "--out", str(out),
                "--shards", str(shards), "--chunk", "3", "--quiet"]  # fmt: skip
        assert pf.main(argv) == 0
        return json.loads((out / "summary.json").read_text())

    first = run("a.sqlite")
    assert first["trained"] == 4 * 2 + 4  # base: 2 replicates; long: 1
    rows = {r["setting"]: r for r in first["settings"]}
    assert set(rows) == {"base", "long", "long@4"} and rows["long"]["n"] == 4 and math.isnan(rows["long"]["self_tau"])
    scores = list(csv.DictReader(open(out / "scores.csv")))
    base_a = {r["arch"]: float(r["rmi"]) for r in scores if r["setting"] == "base" and r["replicate"] == "A"}
    long_rows = [r for r in scores if r["setting"] == "long"]
    assert len(long_rows) == 4 and all(float(r["rmi_at2"]) == pytest.approx(base_a[r["arch"]], abs=1e-6) for r in long_rows)
    assert any(abs(float(r["rmi"]) - float(r["rmi_at2"])) > 1e-6 for r in long_rows)  # 2 more steps move the score
    assert len(list(shards.glob("*.csv"))) == 2 + 2 + 2  # per scoring: a chunk of 3 and one of 1

    again = run("b.sqlite")  # a fresh cache: every score comes from the shards
    assert again["trained"] == 0 and again["looked_up"] == 12
    assert [r["tau_cifar10"] for r in again["settings"]] == [r["tau_cifar10"] for r in first["settings"]]

    for path in shards.glob("*.csv"):  # keep one shard of each scoring: a study still running
        if sum(1 for _ in open(path)) == 2:
            path.unlink()
    argv = ["--archs", str(archs), "--settings", "base,long", "--base", base, "--thread_check", "0", "--no_synflow", "--bootstrap", "20",
            "--capacity_weights", "", "--out", str(out), "--shards", str(shards), "--no_train", "--quiet"]  # fmt: skip
    assert pf.main(argv) == 0
    partial = json.loads((out / "summary.json").read_text())
    assert partial["trained"] == 0 and {r["setting"]: r["n_scored"] for r in partial["settings"]} == {"base": 3, "long": 3, "long@4": 3}
    with pytest.raises(SystemExit, match="--no_train reports from committed shards"):
        pf.main([a for a in argv if a not in ("--shards", str(shards))])


def test_arch_lists_are_read_or_refused_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "a.txt"
    good.write_text("5\n5\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|  # ok\n")
    assert pf.read_arch_list(str(good))[0] == 5 and len(pf.read_arch_list(str(good))) == 2
    for text, match in (("x~y\n", "line 1: 'x~y' is neither"), ("99999\n", "0..15624"), ("\n", "0..15624")):
        good.write_text(text)
        with pytest.raises(SystemExit, match=match):
            pf.read_arch_list(str(good))
    with pytest.raises(SystemExit, match="cannot read"):
        pf.read_arch_list(str(tmp_path / "missing.txt"))


def test_competitive_set_lists_feasible_representatives_and_top_end_reads_regret_and_rank() -> None:
    from _competitive import PER_LIST, lists_of, top_end

    rng = np.random.default_rng(0)
    n = 200
    cost, acc, flops, fast = rng.uniform(0, 10, n), rng.uniform(80, 95, n), rng.uniform(0, 100, n), rng.normal(size=n)
    cost[3] = np.nan
    reps = np.arange(0, n, 2)  # every other arch represents its class
    lists = lists_of(cost, 5.0, acc, flops, fast, reps, np.random.default_rng(1))
    assert set(lists) == {"accuracy", "flops", "fast_rmi", "random"}
    for members in lists.values():
        assert len(members) == PER_LIST == len(set(members))
        assert all(i % 2 == 0 and cost[i] <= 5.0 for i in members)
    ok = [i for i in reps if cost[i] <= 5.0]
    assert lists["accuracy"] == sorted(ok, key=lambda i: -acc[i])[:PER_LIST]
    assert lists["flops"] == sorted(ok, key=lambda i: -flops[i])[:PER_LIST]

    rows = [{"device": "d", "percentile": 50, "budget": 1.0, "index": i} for i in (0, 1, 2, 3)]
    accuracy = np.array([90.0, 93.0, 91.0, 92.0])
    scorers = {"good": np.array([0.0, 5.0, 1.0, 2.0]), "bad": np.array([9.0, 0.0, 1.0, 2.0]), "part": np.array([1.0, np.nan, 3.0, 2.0])}
    (row,) = top_end(rows, accuracy, scorers)
    assert (row["n_members"], row["n_scored"]) == (4, 3)  # arch 1 is not scored by `part`: left out for all
    assert row["best_acc"] == 92.0 and row["good_acc"] == 92.0 and row["good_regret"] == 0.0 and row["good_rank"] == 1
    assert row["bad_acc"] == 90.0 and row["bad_regret"] == 2.0 and row["bad_rank"] == 3
    assert row["part_acc"] == 91.0 and row["part_rank"] == 2
