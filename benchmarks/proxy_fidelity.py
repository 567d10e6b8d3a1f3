"""Proxy fidelity study (issue 12, part 1): how well, and how reproducibly, each proxy setting ranks
NAS-Bench-201 architectures, and which setting is the `fast` CPU profile.

Sample. One fixed, seeded sample of `--sample` NB201 archs (default 300), stratified by FLOPs: the whole
space (15 625 archs) is cut into 5 FLOPs quintiles by rank (CIFAR-10 FLOPs of the NB201 table, ties broken
by NB201 index, so each quintile holds exactly 3 125 archs); the archs of each quintile are taken in the
seeded order of `lightning_nas.rmi.precompute.sample_genotypes(space, None, --sample_seed)` and the sample
interleaves the quintiles (Q1, Q2, ..., Q5, Q1, ...). Every prefix is therefore as balanced as it can be
(5k archs: k per quintile), a smaller sample is a prefix of a larger one (same seed), and `--subsample M`
(the first M of the sample, default 100) is stratified too; the expensive settings are scored on it.

Settings. One base setting (`BASE`, changed with `--base key=value,...`: any config key) and settings that
each change one factor of it (`SETTINGS`); a setting equal to the base (or to an earlier one) is skipped.
Candidates are initialised with an init seed (`RMIEvaluator.seed`) while the probe batch is the one drawn
with the run seed `--seed`, so the init seeds vary only the candidate's initialisation. A setting's score
of an arch is the mean RMI over its `seeds` init seeds (replicate A: init seeds s0..s0+k-1); a second,
independent scoring (replicate B: init seeds s0+k..s0+2k-1) measures its self-agreement. score_heldout
scores the trained candidate on a second batch (`proxy.score_on: heldout`) instead of the probe batch.

Metrics (one summary row per setting, over the archs it scored):
- tau_/rho_<dataset>: Kendall tau / Spearman rho of the score vs NB201 200-epoch test accuracy on cifar10,
  cifar100, ImageNet16-120;
- tau_q1..tau_q5: tau (cifar10) within each whole-space FLOPs quintile;
- tau_<device>: tau (cifar10) among the archs whose HW-NAS-Bench latency on that device is at most the
  device's median latency over all archs that have a value;
- top10_precision: share of the top 10 % by score that are in the top 10 % by cifar10 accuracy (of these archs);
- seconds_per_arch: mean over archs of the training+scoring seconds of one score (the sum over its init
  seeds), as measured when the score was computed (stored in the cache, so a rerun reports the same);
  table_hours: seconds_per_arch x `--table_archs` / `--table_workers` / 3600, the cost of the full table;
- self_tau: tau between replicate A and replicate B (different init seeds); self_below_acc: self_tau <
  tau_cifar10 (such a proxy cannot rank good cells); tau_threads (base only): tau between the base scored
  at `--threads` and at `--thread_check` threads (init seed s0), on the subsample;
- snr_top20: among the top 20 % of these archs by cifar10 accuracy, signal / noise where, with r_aA, r_aB
  an arch's two replicate scores, signal = std over archs (ddof 1) of (r_aA + r_aB) / 2 and noise =
  sqrt(mean over archs of var(r_aA, r_aB) (ddof 1)): how far apart good cells are vs how far a cell
  moves between seeds (below ~1 the proxy cannot order the good cells);
- tau_diff, diff_lo, diff_hi: tau(setting) - tau(best) vs cifar10 accuracy and its 95 % paired percentile
  bootstrap interval (`--bootstrap` resamples of the archs both scored, seeded with `--bootstrap_seed`),
  where the best is the setting with the highest tau_cifar10 among those scored on the whole sample.

Profile rule: the `fast` profile is the setting with the fewest seconds_per_arch among those whose
interval includes 0 or lies above it (tau not significantly below the best) and whose table_hours is at
most `--max_table_hours`; when none fits that budget, the cheapest not significantly below the best (said
so). Baselines on the same sample: FLOPs, params, synflow (`_zero_cost`), with tau_diff vs the best too.

Every score goes through the persistent cache (the score key covers init seed, thread count and every
setting), stored as it is computed: an interrupted study loses nothing, and a rerun is look-ups.
Candidates are scored by the search's backends (`--workers 2`: local worker processes).

Cost (an estimate, not a measurement of the study: 5 archs per setting timed at 1 thread on a loaded 2-core
machine): seconds per arch ~11 (base: C8/N1, 100 steps, probe 64), ~1.3 (steps10), ~3.5 (steps30), ~3.7
(res16), ~6.6 (probe32), ~37 (C16N2), C16N5 not timed (guess ~2.5x C16N2). With two replicates per setting,
init seeds 0-5 of the base, the 2-thread check and C16N5 on 100 archs, the default study is ~24 core-hours
(~12 h with `--workers 2` on 2 quiet cores); `--settings` runs it in parts, each resumable from the cache.

    python benchmarks/proxy_fidelity.py --threads 1                       # the full study (see Cost)
    python benchmarks/proxy_fidelity.py --settings base,steps10 --sample 50 --threads 1 --out /tmp/pf

Outputs (`benchmarks/results/proxy_fidelity/` or `--out`): scores.csv (setting, replicate, seed, threads,
index, arch, rmi, seconds, cached), archs.csv (the sample: quintile, FLOPs, params, synflow, accuracies,
latencies), summary.csv / summary.json, README.md, command.txt, config.json, versions.json. The last line
is `fast_profile=<setting> kendall_tau=<tau_cifar10>`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as common
import numpy as np
from _common import NB201_DATASETS as DATASETS
from _competitive import competitive_set, read_fast_table, top_end
from _shards import ShardStore, setting_id

from lightning_nas.analysis.budget import capacity_scores
from lightning_nas.analysis.ranking import rank_agreement
from lightning_nas.config import set_torch_threads

BASE: dict[str, str] = {
    "space.C": "8", "space.N": "1", "proxy.steps": "10", "proxy.lr": "0.1", "data.resolution": "16",
    "proxy.score_bn_mode": "train", "probe.batch_size": "64", "proxy.score_on": "probe", "space.full_resolution": "32",
}  # fmt: skip
QUINTILES = 5


@dataclass(frozen=True)
class Setting:
    """One factor changed from the base: `changes` (config key -> value), `seeds` init seeds averaged into
    one score, `subsample`: scored on the first `--subsample` archs only (expensive)."""

    name: str
    changes: dict[str, str] = field(default_factory=dict)
    seeds: int = 1
    subsample: bool = False
    replicates: int = 2  # 1: replicate A only (no self-agreement; `--replicates 2` adds it)
    longer: int | None = None  # train on to this step too: row `<name>@<longer>` from the same training

    def scoring(self, base: dict[str, str]) -> dict[str, str]:
        """The config the candidates train under: with `longer`, to that step, scored at this setting's own."""
        config = base | self.changes
        if self.longer:
            config |= {"proxy.steps": str(self.longer), "proxy.score_steps": f"[{config['proxy.steps']}]"}
        return config

    def describe(self, base: dict[str, str]) -> str:
        parts = [f"{k} {base.get(k, '-')}->{v}" for k, v in self.changes.items() if base.get(k) != v]
        if self.seeds > 1:
            parts.append(f"mean of {self.seeds} init seeds")
        return ", ".join(parts) or "base"


SETTINGS: tuple[Setting, ...] = (
    Setting("base"),
    Setting("steps10", {"proxy.steps": "10"}),
    Setting("steps30", {"proxy.steps": "30"}),
    Setting("steps100", {"proxy.steps": "100"}, subsample=True),
    Setting("lr0.1", {"proxy.lr": "0.1"}),
    Setting("lr0.01", {"proxy.lr": "0.01"}),
    Setting("seeds2", seeds=2),
    Setting("seeds3", seeds=3),
    Setting("C8N1", {"space.C": "8", "space.N": "1"}),
    Setting("C16N2", {"space.C": "16", "space.N": "2"}),
    Setting("C16N5", {"space.C": "16", "space.N": "5"}, subsample=True),
    Setting("res32", {"data.resolution": "32"}),
    Setting("res16", {"data.resolution": "16"}),
    Setting("bn_train", {"proxy.score_bn_mode": "train"}),
    Setting("bn_eval", {"proxy.score_bn_mode": "eval"}),
    Setting("probe64", {"probe.batch_size": "64"}),
    Setting("probe32", {"probe.batch_size": "32"}),
    Setting("score_probe", {"proxy.score_on": "probe"}),
    Setting("score_heldout", {"proxy.score_on": "heldout"}),
    # HW-EvRSNAS as published (issue 26): full network, 32x32, probe 32 of 512, 100 SGD steps at lr 0.1, beta 0.8
    # (the defaults); the same training goes on to 150 steps for RMI-NAS's length (row `paper@150`).
    Setting("paper", {"space.C": "16", "space.N": "5", "data.resolution": "32", "probe.batch_size": "32", "proxy.steps": "100",
                      "proxy.lr": "0.1", "proxy.score_bn_mode": "train", "proxy.score_on": "probe"},
            subsample=True, replicates=1, longer=150),
)


# ---------------------------------------------------------------- pure parts (unit-tested)


def flops_quintiles(flops: np.ndarray) -> np.ndarray:
    """Quintile (0..4) of every arch by FLOPs rank (stable: ties by index), equal counts (+-1)."""
    if not np.all(np.isfinite(flops)):
        raise ValueError("FLOPs must be known for every arch of the space")
    ranks = np.empty(len(flops), dtype=np.int64)
    ranks[np.argsort(flops, kind="stable")] = np.arange(len(flops))
    return ranks * QUINTILES // len(flops)


def stratified_order(order: list[int], quintile: np.ndarray, n: int) -> list[int]:
    """The first `n` of `order` (arch indices) regrouped by quintile and interleaved Q1, Q2, ..., Q5, Q1, ...
    (a quintile that runs out is skipped): every prefix is as balanced as it can be."""
    groups: list[list[int]] = [[] for _ in range(QUINTILES)]
    for i in order:
        groups[int(quintile[i])].append(i)
    out: list[int] = []
    for k in range(max(map(len, groups))):
        out += [g[k] for g in groups if k < len(g)]
        if len(out) >= n:
            break
    return out[:n]


def tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall tau over the pairs where both are finite (NaN when fewer than 3 or x is constant)."""
    m = np.isfinite(x) & np.isfinite(y)
    return rank_agreement(x[m], y[m])[0]


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """tau(a, y) - tau(b, y) and its percentile bootstrap interval, resampling the archs (the same
    resample for a and b: paired). Returns (point, lo, hi)."""
    point = tau(a, y) - tau(b, y)
    if np.array_equal(a, b, equal_nan=True):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for r in range(resamples):
        i = rng.integers(0, len(y), len(y))
        diffs[r] = tau(a[i], y[i]) - tau(b[i], y[i])
    alpha = (1 - level) / 2 * 100
    lo, hi = np.nanpercentile(diffs, [alpha, 100 - alpha]) if np.isfinite(diffs).any() else (np.nan, np.nan)
    return float(point), float(lo), float(hi)


def choose_profile(rows: list[dict[str, Any]], max_table_hours: float | None = None) -> tuple[dict[str, Any] | None, str]:
    """The cheapest row (seconds_per_arch; ties: higher tau_cifar10) not significantly below the best
    (diff_hi >= 0) with table_hours <= max_table_hours; else the cheapest not below the best. Returns the
    row (None when no row qualifies) and why it was chosen."""
    ok = [r for r in rows if np.isfinite(r.get("diff_hi", np.nan)) and r["diff_hi"] >= 0 and np.isfinite(r["seconds_per_arch"])]
    if not ok:
        return None, "no setting has a bootstrap interval and a time"
    fits = [r for r in ok if max_table_hours is None or r["table_hours"] <= max_table_hours]
    pool = fits or ok
    best = min(pool, key=lambda r: (r["seconds_per_arch"], -r["tau_cifar10"]))
    why = "cheapest setting whose tau is not significantly below the best's"
    if max_table_hours is not None:
        why += f" and whose full table fits {max_table_hours:g} h" if fits else f" (none fits {max_table_hours:g} h)"
    return best, why


def snr(rep_a: np.ndarray, rep_b: np.ndarray) -> float:
    """signal (std over archs of the replicate mean) / noise (root mean within-arch variance)."""
    m = np.isfinite(rep_a) & np.isfinite(rep_b)
    if m.sum() < 2:
        return float("nan")
    pair = np.stack([rep_a[m], rep_b[m]])
    signal = float(np.std(pair.mean(axis=0), ddof=1))
    noise = float(np.sqrt(np.mean(np.var(pair, axis=0, ddof=1))))
    return signal / noise if noise > 0 else float("inf")


def top_precision(score: np.ndarray, acc: np.ndarray, share: float = 0.1) -> float:
    m = np.isfinite(score) & np.isfinite(acc)
    score, acc = score[m], acc[m]
    k = max(1, round(share * len(score)))
    return len(set(np.argsort(-score, kind="stable")[:k]) & set(np.argsort(-acc, kind="stable")[:k])) / k


def setting_metrics(score: np.ndarray, rep_b: np.ndarray, arch: dict[str, np.ndarray], device_median: dict[str, float]) -> dict[str, Any]:
    """Every metric of one score vector over the sample's archs (`arch`: columns of those archs)."""
    row: dict[str, Any] = {}
    for ds in DATASETS:
        m = np.isfinite(score) & np.isfinite(arch[ds])
        row[f"tau_{ds}"], row[f"rho_{ds}"] = rank_agreement(score[m], arch[ds][m])
    acc = arch["cifar10"]
    for q in range(QUINTILES):
        sel = arch["quintile"] == q
        row[f"tau_q{q + 1}"] = tau(score[sel], acc[sel])
    for dev in common.DEVICES:
        sel = arch[dev] <= device_median[dev]
        row[f"tau_{dev}"] = tau(score[sel], acc[sel])
    row["top10_precision"] = top_precision(score, acc)
    row["self_tau"] = tau(score, rep_b)
    row["self_below_acc"] = bool(row["self_tau"] < row["tau_cifar10"])
    top = acc >= np.quantile(acc, 0.8)
    row["snr_top20"] = snr(score[top], rep_b[top])
    return row


# ---------------------------------------------------------------- scoring through the cache


@dataclass
class Study:
    """How scores are computed: probe seed, cache, per-candidate threads, backend; the probe batches and
    reference features built so far (one per data/probe/reference setting: settings that change only the
    proxy or the proxy network share them) and the scorings already gathered in this run."""

    seed: int
    cache_path: str | None
    threads: int
    backend: str
    workers: int
    progress: bool = True
    shards: ShardStore | None = None  # committed shards: read first, one written per `chunk` archs scored
    chunk: int = 5
    train: bool = True  # False: report from the shards alone, unscored archs left out (a study still running)
    trained: int = 0
    looked_up: int = 0
    problems: dict[tuple[str, ...], Any] = field(default_factory=dict)
    scorers: dict[str, Any] = field(default_factory=dict)
    memo: dict[tuple[Any, ...], tuple[list[Any], list[bool]]] = field(default_factory=dict)

    def problem(self, overrides: tuple[str, ...]) -> Any:
        from _common import base_overrides

        from lightning_nas.config import parse_config
        from lightning_nas.pipeline import build_problem

        if overrides not in self.problems:
            execution = ["--search.backend", self.backend, "--search.workers", str(self.workers)]
            cfg, _ = parse_config(base_overrides(self.seed, self.cache_path, [*overrides, *execution]))
            self.problems[overrides] = build_problem(cfg, check_budgets=False)
        return self.problems[overrides]

    def scorer(self, overrides: tuple[str, ...], init_seed: int, threads: int) -> Any:
        """The scorer of this setting: the probe batch of `seed` and the reference's features on it, and a
        candidate evaluator with this setting's proxy network and proxy options, init seed and threads."""
        from lightning_nas.pipeline import build_scorer
        from lightning_nas.rmi.evaluator import RMIEvaluator

        problem = self.problem(overrides)
        c = problem.cfg
        key = repr((c.seed, c.data, c.probe, c.reference, c.proxy.score_on))
        if key not in self.scorers:
            self.scorers[key] = build_scorer(problem)
        shared = self.scorers[key]
        ev = shared.evaluator
        evaluator = RMIEvaluator(problem.space, shared.probe, ev.reference_features, c.proxy, init_seed, threads=threads,
                                 heldout=ev.heldout, heldout_features=ev.heldout_features)  # fmt: skip
        return dataclasses.replace(shared, evaluator=evaluator)

    def score(self, overrides: tuple[str, ...], init_seed: int, threads: int, genotypes: list[Any]) -> tuple[list[Any], list[bool]]:
        """ProxyResults (None where a candidate failed) of `genotypes` at this setting, init seed and
        thread count, and whether each was looked up (in the shards, then the cache); the rest are scored by
        the backend, stored in the cache as each arrives and in a shard per `chunk` archs."""
        memo_key = (overrides, init_seed, threads)
        have, cached = self.memo.get(memo_key, ([], []))
        if len(have) >= len(genotypes):
            return have[: len(genotypes)], cached[: len(genotypes)]
        from lightning_nas.backends import build_backend
        from lightning_nas.rmi.cache import open_run_cache
        from lightning_nas.rmi.precompute import precompute

        problem = self.problem(overrides)
        space = problem.space
        keys = [space.key(g) for g in genotypes]
        sid = setting_id(overrides, self.seed)
        sharded = self.shards.load(sid, init_seed, threads) if self.shards else {}
        if all(k in sharded for k in keys) or not self.train:  # no scorer needed (the reference's features, the probe)
            results, cached = [sharded.get(k) for k in keys], [k in sharded for k in keys]
            self.looked_up += sum(cached)
            self.memo[memo_key] = (results, cached)
            return results, cached
        scorer = self.scorer(overrides, init_seed, threads)
        cache = open_run_cache(problem.cfg, scorer, space, required=True)
        assert cache is not None
        try:
            done = cache.cache.keys(cache.space, cache.shash) | set(sharded)
            cached = [k in done for k in keys]
            self._shard(sid, init_seed, threads, {k: cache.lookup(k) for k in keys if k in done and k not in sharded})
            todo = [j for j, c in enumerate(cached) if not c]
            if todo:
                backend = build_backend(problem.cfg)
                try:
                    backend.start(scorer.evaluator)
                    for at in range(0, len(todo), self.chunk):
                        part = todo[at : at + self.chunk]
                        precompute(cache, backend, [keys[j] for j in part], [genotypes[j] for j in part], progress=self.progress)
                        self._shard(sid, init_seed, threads, {keys[j]: cache.lookup(keys[j]) for j in part})
                finally:
                    backend.close()
            self.trained += cached.count(False)
            self.looked_up += cached.count(True)
            results = [sharded[k] if k in sharded else cache.lookup(k) for k in keys]
        finally:
            cache.cache.close()
        self.memo[memo_key] = (results, cached)
        return results, cached

    def _shard(self, sid: str, init_seed: int, threads: int, results: dict[str, Any]) -> None:
        if self.shards:
            self.shards.write(sid, init_seed, threads, {k: r for k, r in results.items() if r is not None})


def score_rows(setting: str, replicate: str, seed: int, threads: int, cols: dict[str, np.ndarray], arch_strs: list[str],
               results: list[Any], cached: list[bool]) -> list[dict[str, Any]]:  # fmt: skip
    """Rows of scores.csv for one scoring (rmi and seconds NaN where the candidate failed)."""
    return [
        {"setting": setting, "replicate": replicate, "seed": seed, "threads": threads, "index": int(cols["index"][j]),
         "arch": arch_strs[j], "rmi": r.rmi if r else np.nan, "seconds": r.seconds if r else np.nan, "cached": c,
         **{f"rmi_at{k}": v for k, v in (r.rmi_at if r else {}).items()}}
        for j, (r, c) in enumerate(zip(results, cached, strict=True))
    ]  # fmt: skip


def values(results: list[Any], what: str = "rmi") -> np.ndarray:
    return np.array([getattr(r, what) if r else np.nan for r in results])


def values_at(results: list[Any], step: int) -> np.ndarray:
    """The RMI after `step` (`proxy.score_steps`) of each result (NaN where missing)."""
    return np.array([r.rmi_at.get(step, np.nan) if r else np.nan for r in results])


def overrides_of(config: dict[str, str]) -> tuple[str, ...]:
    return tuple(a for k in sorted(config) for a in (f"--{k}", config[k]))


def parse_base(text: str | None) -> dict[str, str]:
    base = dict(BASE)
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"error: --base takes key=value[,key=value...], got {item!r}")
        base[key.strip().removeprefix("--")] = value.strip()
    return base


def pick_settings(names: str | None, base: dict[str, str]) -> tuple[list[Setting], list[str]]:
    """The settings to run (by name, default all), dropping any whose config and seeds equal an earlier
    one's (most often the base); returns them and a note per dropped one."""
    by_name = {s.name: s for s in SETTINGS}
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else list(by_name)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SystemExit(f"error: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(by_name)}")
    chosen, seen, notes = [], {}, []
    for s in (by_name[n] for n in wanted):
        ident = (overrides_of(s.scoring(base)), s.seeds, s.subsample, s.longer)
        if ident in seen:
            notes.append(f"{s.name} = {seen[ident]} (same settings): not run again")
            continue
        seen[ident] = s.name
        chosen.append(s)
    return chosen, notes


# ---------------------------------------------------------------- the capacity tie-break (search.capacity_weight)


def parse_weights(text: str) -> list[float]:
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise SystemExit(f"error: --capacity_weights takes comma-separated numbers >= 0, got {text!r}") from None
    if any(not np.isfinite(w) or w < 0 for w in weights):
        raise SystemExit(f"error: --capacity_weights takes comma-separated numbers >= 0, got {text!r}")
    return weights


def capacity_rows(profile: dict[str, Any], replicates: dict[str, list[np.ndarray]], vectors: dict[str, np.ndarray], mflops: np.ndarray,
                  weights: list[float], cols: dict[str, np.ndarray], device_median: dict[str, float], best: dict[str, Any] | None,
                  args: Any) -> list[dict[str, Any]]:  # fmt: skip
    """The fast profile's score + w * log10(MFLOPs) (the fitness term of `search.capacity_weight` w) for each w:
    every metric, tau_diff vs the best paper setting and gain_vs_profile (its own paired bootstrap vs the profile)."""
    name, n = profile["setting"], profile["n"]
    rep_a, rep_b = replicates[name]
    rows = []
    for k, w in enumerate(weights):
        a, b = capacity_scores(rep_a, mflops[:n], w), capacity_scores(rep_b, mflops[:n], w)
        row = {"setting": f"{name}+cap{w:g}", "changes": f"{name}, fitness term + {w:g} * log10(MFLOPs)", "n": n,
               "seeds": profile["seeds"], "capacity_weight": w, "seconds_per_arch": profile["seconds_per_arch"],
               "table_hours": profile["table_hours"]}  # fmt: skip
        row |= setting_metrics(a, b, subset(cols, n), device_median)
        seed = args.bootstrap_seed + 1000 + k
        if best is not None:
            row["tau_diff"], row["diff_lo"], row["diff_hi"] = paired_bootstrap(a, vectors[best["setting"]][:n], cols["cifar10"][:n], args.bootstrap, seed)
        row["gain_vs_profile"], row["gain_lo"], row["gain_hi"] = paired_bootstrap(a, vectors[name], cols["cifar10"][:n], args.bootstrap, seed)
        vectors[row["setting"]] = a
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the study


def sample_archs(space: Any, acc_table: Any, hw: Any, n: int, sample_seed: int) -> dict[str, np.ndarray]:
    """The stratified sample's columns: index, quintile, flops, params, accuracies, latencies."""
    from lightning_nas.rmi.precompute import sample_genotypes
    from lightning_nas.spaces.nb201.space import nb201_index

    quintile = flops_quintiles(acc_table.column("cifar10", "flops_M"))
    order = [nb201_index(g) for g in sample_genotypes(space, None, sample_seed)]
    return arch_columns(np.array(stratified_order(order, quintile, n)), acc_table, hw)


def arch_columns(idx: np.ndarray, acc_table: Any, hw: Any) -> dict[str, np.ndarray]:
    """Columns of these NB201 indices: index, whole-space FLOPs quintile, flops, params, accuracies, latencies."""
    flops_all = acc_table.column("cifar10", "flops_M")
    quintile = flops_quintiles(flops_all)
    cols: dict[str, np.ndarray] = {"index": idx, "quintile": quintile[idx], "flops_M": flops_all[idx]}
    cols["params_M"] = acc_table.column("cifar10", "params_M")[idx]
    for ds in DATASETS:
        cols[ds] = acc_table.column(ds, "test_acc")[idx]
    for dev in common.DEVICES:
        cols[dev] = hw.get("cifar10", dev)[idx]
    return cols


def subset(cols: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in cols.items()}


def read_arch_list(path: str) -> list[int]:
    """NB201 indices from a file: one NB201 index or arch string per line (blank lines and `#` comments skipped)."""
    from lightning_nas.spaces.nb201.space import from_arch_str, nb201_index

    out = []
    try:
        lines = open(path).read().splitlines()
    except OSError as err:
        raise SystemExit(f"error: --archs {path}: cannot read it ({err.strerror})") from None
    for n, line in enumerate(lines, 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            out.append(int(item) if item.isdigit() else nb201_index(from_arch_str(item)))
        except (ValueError, KeyError) as err:
            raise SystemExit(f"error: --archs {path} line {n}: {item!r} is neither an NB201 index nor an arch string ({err})") from None
    if not out or any(not 0 <= i < 15625 for i in out):
        raise SystemExit(f"error: --archs {path}: needs NB201 indices in 0..15624 (or arch strings), got {out[:5]}")
    return list(dict.fromkeys(out))


def score_setting(study: Study, s: Setting, base: dict[str, str], args: Any, genotypes: list[Any], cols: dict[str, np.ndarray],
                  arch_strs: list[str], n: int) -> tuple[list[dict[str, Any]], dict[str, list[np.ndarray]], np.ndarray]:  # fmt: skip
    """Score setting `s` on the first n archs: its scores.csv rows, each view's replicates (`<name>` and, with
    `longer`, `<name>@<longer>` from the same training; replicate B all NaN with one replicate) and the
    seconds per arch of replicate A."""
    overrides = overrides_of(s.scoring(base))
    step = int((base | s.changes)["proxy.steps"]) if s.longer else None
    views: dict[str, list[np.ndarray]] = {s.name: []} | ({f"{s.name}@{s.longer}": []} if s.longer else {})
    rows, seconds = [], np.zeros(n)
    for rep in "AB"[: args.replicates or s.replicates]:
        per_seed: dict[str, list[np.ndarray]] = {v: [] for v in views}
        first = 0 if rep == "A" else s.seeds
        for k in range(first, first + s.seeds):
            results, cached = study.score(overrides, args.init_seed + k, args.threads, genotypes[:n])
            rows += score_rows(s.name, rep, args.init_seed + k, args.threads, cols, arch_strs, results, cached)
            for v in views:
                per_seed[v].append(values_at(results, step) if v == s.name and step else values(results))
            if rep == "A":
                seconds += values(results, "seconds")
        for v in views:
            views[v].append(np.mean(per_seed[v], axis=0))
    for v in views.values():
        v += [np.full(n, np.nan)] * (2 - len(v))
    return rows, views, seconds


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", type=int, default=300, help="archs in the stratified sample")
    p.add_argument("--subsample", type=int, default=100, help="the first M of the sample, for the expensive settings")
    p.add_argument("--sample_seed", type=int, default=0)
    p.add_argument("--settings", default=None, help=f"comma-separated, default all: {','.join(s.name for s in SETTINGS)}")
    p.add_argument("--base", default=None, help="base setting overrides key=value,... (default " + ",".join(f"{k}={v}" for k, v in BASE.items()) + ")")
    p.add_argument("--seed", type=int, default=0, help="run seed: the probe batch (and the reference's BN batch)")
    p.add_argument("--init_seed", type=int, default=0, help="first init seed (replicate A starts here)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per candidate")
    p.add_argument("--thread_check", type=int, default=2, help="also score the base at this many threads (0: no)")
    p.add_argument("--workers", type=int, default=1, help="candidates scored at once (>1: the local backend)")
    p.add_argument("--backend", choices=("serial", "local", "ray"), default=None, help="default serial, local with --workers > 1")
    p.add_argument("--bootstrap", type=int, default=1000, help="paired bootstrap resamples")
    p.add_argument("--bootstrap_seed", type=int, default=0)
    p.add_argument("--table_archs", type=int, default=6466,
                   help="archs scored for the full table (for table_hours): one per NB201 isomorphism class")
    p.add_argument("--table_workers", type=int, default=2, help="workers building the full table (for table_hours)")
    p.add_argument("--max_table_hours", type=float, default=4.0, help="the fast profile's full table must fit this")
    p.add_argument("--no_synflow", action="store_true", help="leave out the synflow baseline")
    p.add_argument("--capacity_weights", default="0.05,0.1,0.2,0.3,0.5",
                   help="search.capacity_weight values tried on the fast profile's scores (empty: none)")
    p.add_argument("--cache", "--cache_path", dest="cache", default=None, help="persistent cache file (default: the user's)")
    p.add_argument("--out", default=None, help="results folder (default: benchmarks/results/proxy_fidelity)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--archs", default=None,
                   help="score these archs instead of the sample: a file (NB201 index or arch string per line) or "
                        "`competitive` (the competitive set of the 18 Fig. 2 latency settings, see _competitive.py; "
                        "adds the top-end table: each scorer's best member's regret and rank per setting)")  # fmt: skip
    p.add_argument("--replicates", type=int, choices=(1, 2), default=None, help="override each setting's replicates (2: self-agreement)")
    p.add_argument("--shards", default=None, help="folder of committed score shards: read first, one written per --chunk archs")
    p.add_argument("--chunk", type=int, default=5, help="archs per shard")
    p.add_argument("--no_train", action="store_true", help="report from --shards alone (unscored archs left out, n_scored says how many)")
    p.add_argument("--write_priority", default=None,
                   help="write the GPU table's scoring order to this file and stop: the competitive set's members, then the "
                        "--sample archs (build_rmi_table.py --order)")  # fmt: skip
    p.add_argument("--fast_table", default=str(common.REPO / "benchmarks" / "tables" / "rmi_nb201_fast.csv.gz"),
                   help="the fast profile's whole-space table of scores: a baseline row (and the competitive set's fast list)")
    args = p.parse_args(argv)
    if args.sample < 5 or args.subsample < 1:
        raise SystemExit("error: --sample must be >= 5 and --subsample >= 1")
    if args.thread_check == args.threads:
        raise SystemExit("error: --thread_check must differ from --threads (0 to skip it)")
    common.require_shared()
    set_torch_threads(args.threads)
    from _zero_cost import synflow_of

    from lightning_nas.run_dir import versions
    from lightning_nas.spaces.nb201.space import genotype_of_index, to_arch_str
    from lightning_nas.tables.hw_nas_bench import HWNASBenchTable
    from lightning_nas.tables.nb201_accuracy import NB201AccuracyTable

    at_start = versions()  # before any shard or result is written: git_dirty says whether the code was committed
    start = time.perf_counter()
    base = parse_base(args.base)
    settings, notes = pick_settings(args.settings, base)
    backend = args.backend or ("local" if args.workers > 1 else "serial")
    shards = ShardStore(args.shards) if args.shards else None
    if args.no_train and not shards:
        raise SystemExit("error: --no_train reports from committed shards: give --shards DIR")
    study = Study(args.seed, args.cache, args.threads, backend, args.workers, progress=not args.quiet, shards=shards, chunk=args.chunk,
                  train=not args.no_train)  # fmt: skip
    acc_table, hw = NB201AccuracyTable.load(common.ACC_TABLE), HWNASBenchTable.load(common.HW_TABLE)
    base_space = study.problem(overrides_of(base)).space
    fast_rmi, fast_rep = read_fast_table(Path(args.fast_table))
    competitive: list[dict[str, Any]] = []
    if args.write_priority:
        return write_priority(Path(args.write_priority), hw, acc_table, fast_rmi, fast_rep,
                              sample_archs(base_space, acc_table, hw, args.sample, args.sample_seed)["index"], args.sample_seed)  # fmt: skip
    if args.archs == "competitive":
        flops_all, acc_all = acc_table.column("cifar10", "flops_M"), acc_table.column("cifar10", "test_acc")
        members, competitive = competitive_set(hw, acc_all, flops_all, fast_rmi, fast_rep, common.DEVICES, args.sample_seed)
        cols = arch_columns(np.array(members), acc_table, hw)
    elif args.archs:
        cols = arch_columns(np.array(read_arch_list(args.archs)), acc_table, hw)
    else:
        cols = sample_archs(base_space, acc_table, hw, args.sample, args.sample_seed)
    args.sample = len(cols["index"])
    n_sub = min(args.subsample, args.sample) if not args.archs else args.sample
    genotypes = [genotype_of_index(int(i)) for i in cols["index"]]
    arch_strs = [to_arch_str(g) for g in genotypes]
    device_median = {dev: float(np.nanmedian(hw.get("cifar10", dev))) for dev in common.DEVICES}
    for note in notes:
        print(f"proxy_fidelity: {note}", file=sys.stderr)

    scores: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    vectors: dict[str, np.ndarray] = {}
    replicates: dict[str, list[np.ndarray]] = {}
    for s in settings:
        n = n_sub if s.subsample else args.sample
        rows, views, seconds = score_setting(study, s, base, args, genotypes, cols, arch_strs, n)
        scores += rows
        for view, reps in views.items():
            changes = s.describe(base) + (f", scored after step {s.longer} of the same training" if view != s.name else "")
            row: dict[str, Any] = {"setting": view, "changes": changes, "n": n, "seeds": s.seeds}
            row["seconds_per_arch"] = float(np.nanmean(seconds))  # the whole training (to `longer` with it)
            row["table_hours"] = row["seconds_per_arch"] * args.table_archs / args.table_workers / 3600
            row["n_scored"] = int(np.isfinite(reps[0]).sum())
            row |= setting_metrics(reps[0], reps[1], subset(cols, n), device_median)
            vectors[view] = reps[0]
            replicates[view] = reps
            summary.append(row)
        if s.name == "base" and args.thread_check:  # on the subsample: 2 threads per tiny candidate are slow
            overrides = overrides_of(s.scoring(base))
            first, _ = study.score(overrides, args.init_seed, args.threads, genotypes[:n_sub])
            other, cached = study.score(overrides, args.init_seed, args.thread_check, genotypes[:n_sub])
            summary[-1]["tau_threads"] = tau(values(first), values(other))
            scores += score_rows(s.name, "threads", args.init_seed, args.thread_check, cols, arch_strs, other, cached)

    # baselines on the same sample
    baseline_cols = {"flops": cols["flops_M"], "params": cols["params_M"], "fast_table": fast_rmi[cols["index"]]}
    if not args.no_synflow:
        baseline_cols["synflow"] = np.array([synflow_of(base_space, g, (3, 32, 32), args.seed) for g in genotypes])
    baselines = []
    for name, column in baseline_cols.items():
        what = "the fast profile's whole-space table (the class representative's score)" if name == "fast_table" else "training-free baseline"
        row = {"setting": f"baseline:{name}", "changes": what, "n": args.sample}
        metrics = setting_metrics(column, column, cols, device_median)
        for k in ("self_tau", "self_below_acc", "snr_top20"):  # deterministic: no replicate to compare
            metrics.pop(k)
        baselines.append(row | metrics)
        vectors[row["setting"]] = column

    # paired bootstrap against the best full-sample setting
    full = [r for r in summary if r["n"] == args.sample and np.isfinite(r["tau_cifar10"])]
    best = max(full, key=lambda r: r["tau_cifar10"]) if full else None
    for i, row in enumerate(summary + baselines):
        if best is None:
            row["tau_diff"] = row["diff_lo"] = row["diff_hi"] = np.nan
            continue
        n = row["n"]
        point, lo, hi = paired_bootstrap(vectors[row["setting"]][:n], vectors[best["setting"]][:n], cols["cifar10"][:n],
                                         args.bootstrap, args.bootstrap_seed + i)  # fmt: skip
        row["tau_diff"], row["diff_lo"], row["diff_hi"] = point, lo, hi
    profile, why = choose_profile(summary, args.max_table_hours)
    mflops = np.array([base_space.complexity(g)[0] for g in genotypes])  # the product's FLOPs (search.capacity_weight)
    extensions = capacity_rows(profile, replicates, vectors, mflops, parse_weights(args.capacity_weights), cols, device_median,
                               best, args) if profile else []  # fmt: skip
    capacity = max(extensions, key=lambda r: (r["tau_cifar10"], -r["capacity_weight"])) if extensions else None
    versus_sub = [] if profile is None else [  # the rule's best is a full-sample setting: the profile vs each subsample one too
        {"profile": profile["setting"], "versus": r["setting"], "n": r["n"],
         **dict(zip(("tau_diff", "diff_lo", "diff_hi"), paired_bootstrap(vectors[profile["setting"]][: r["n"]], vectors[r["setting"]],
                                                                          cols["cifar10"][: r["n"]], args.bootstrap, args.bootstrap_seed + 2000), strict=True))}
        for r in summary if r["n"] < args.sample
    ]  # fmt: skip

    out = common.out_dir("proxy_fidelity", "small", args.out)
    archs = [{"index": int(cols["index"][j]), "arch": arch_strs[j], "quintile": int(cols["quintile"][j]) + 1}
             | {k: float(v[j]) for k, v in cols.items() if k not in ("index", "quintile")}
             | ({"synflow_log": float(baseline_cols["synflow"][j])} if "synflow" in baseline_cols else {})
             for j in range(args.sample)]  # fmt: skip
    common.write_csv(out / "archs.csv", archs)
    common.write_csv(out / "scores.csv", scores)
    common.write_csv(out / "summary.csv", summary + extensions + baselines)
    top = top_end_rows(competitive, summary, vectors, cols, acc_table, fast_rmi) if competitive else []
    if competitive:
        common.write_csv(out / "competitive.csv", competitive)
        common.write_csv(out / "top_end.csv", top)
    wall = time.perf_counter() - start
    record = {
        "settings": summary, "baselines": baselines, "best": best["setting"] if best else None,
        "profile": profile["setting"] if profile else None, "profile_rule": why, "capacity": extensions,
        "profile_vs_subsample_settings": versus_sub,
        "capacity_weight": capacity["capacity_weight"] if capacity else None,
        "skipped_settings": notes, "trained": study.trained, "looked_up": study.looked_up, "wall_seconds": wall,
        "device_median_latency_ms": device_median, "top_end": top, "shards": shards and {"folder": Path(args.shards).name, "cpus": sorted(shards.cpus)},
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(record, indent=2, default=_json_default) + "\n")
    config = {
        "sample": args.sample, "subsample": n_sub, "sample_seed": args.sample_seed, "seed": args.seed,
        "init_seed": args.init_seed, "threads": args.threads, "thread_check": args.thread_check, "backend": backend,
        "workers": args.workers, "base": base, "settings": [dataclasses.asdict(s) for s in settings],
        "bootstrap": args.bootstrap, "bootstrap_seed": args.bootstrap_seed, "table_archs": args.table_archs,
        "table_workers": args.table_workers, "max_table_hours": args.max_table_hours, "cache": args.cache,
        "accuracy": "NB201 test_acc (200 epochs)", "reference": "ResNet-20 (shared checkpoint)", "data": "CIFAR-10 JPEGs",
        "archs": args.archs, "replicates": args.replicates, "shards": args.shards and Path(args.shards).name, "chunk": args.chunk,
        "fast_table": Path(args.fast_table).name,
    }  # fmt: skip
    common.write_provenance(out, argv, config, at_start)
    report = readme(summary, extensions, baselines, best, profile, why, notes, config, study, wall, versus_sub) + top_end_summary(top)
    (out / "README.md").write_text(report)
    print(report)
    if capacity is not None:
        print(f"capacity_weight={capacity['capacity_weight']:g} kendall_tau={capacity['tau_cifar10']:.4f}")
    if profile is None:
        print("fast_profile=none kendall_tau=nan")
    else:
        print(f"fast_profile={profile['setting']} kendall_tau={profile['tau_cifar10']:.4f}")
    return 0


def write_priority(path: Path, hw: Any, acc_table: Any, fast_rmi: np.ndarray, fast_rep: np.ndarray, sample: np.ndarray,
                   seed: int) -> int:  # fmt: skip
    """The order in which a paper-setting table is scored (issue 26): the competitive set, then the sample."""
    members, _ = competitive_set(hw, acc_table.column("cifar10", "test_acc"), acc_table.column("cifar10", "flops_M"), fast_rmi,
                                 fast_rep, common.DEVICES, seed)  # fmt: skip
    order = list(dict.fromkeys([*members, *(int(i) for i in sample)]))
    header = (f"# NB201 indices in the order a paper-setting table is scored: the competitive set ({len(members)}, issue 26), "
              f"then the fidelity sample ({len(sample)}, sample seed {seed}); written by benchmarks/proxy_fidelity.py --write_priority\n")  # fmt: skip
    path.write_text(header + "".join(f"{i}\n" for i in order))
    print(f"priority order: {len(order)} archs ({len(members)} competitive, then the sample) -> {path}")
    return 0


def top_end_rows(competitive: list[dict[str, Any]], summary: list[dict[str, Any]], vectors: dict[str, np.ndarray],
                 cols: dict[str, np.ndarray], acc_table: Any, fast_rmi: np.ndarray) -> list[dict[str, Any]]:  # fmt: skip
    """The competitive set's top-end table: each trained setting's scores, the fast table and FLOPs."""
    def by_index(v: np.ndarray) -> np.ndarray:
        full = np.full(len(fast_rmi), np.nan)
        full[cols["index"]] = v
        return full

    scorers = {r["setting"]: by_index(vectors[r["setting"]]) for r in summary}
    scorers |= {"fast_table": fast_rmi, "flops": acc_table.column("cifar10", "flops_M")}
    return top_end(competitive, acc_table.column("cifar10", "test_acc"), scorers)


def top_end_summary(top: list[dict[str, Any]]) -> str:
    """Markdown: the per-setting table and, over the complete settings, each scorer's mean regret and rank."""
    if not top:
        return ""
    complete = [r for r in top if r["n_scored"] == r["n_members"]]
    names = [k.removesuffix("_regret") for k in top[0] if k.endswith("_regret")] if "best_acc" in top[0] else []
    means = [{"scorer": n, "settings": len(complete), "mean_regret": float(np.mean([r[f"{n}_regret"] for r in complete])),
              "mean_rank": float(np.mean([r[f"{n}_rank"] for r in complete])),
              "best_in_set": sum(r[f"{n}_rank"] == 1 for r in complete)} for n in names] if complete else []  # fmt: skip
    return (f"\n## The top of each budget: the competitive set (issue 26)\n\nPer latency setting, the best-scored member of the "
            f"competitive set under each scorer: its CIFAR-10 accuracy, regret to the set's most accurate member (pp) and "
            f"accuracy rank in the set. Only members every scorer scored count (n_scored of n_members); {len(complete)} of "
            f"{len(top)} settings are complete. Archs outside the set are not scored: this regret is a lower bound.\n\n"
            f"{common.md_table(top)}\nOver the complete settings:\n\n{common.md_table(means)}")


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def readme(summary: list[dict[str, Any]], extensions: list[dict[str, Any]], baselines: list[dict[str, Any]], best: dict[str, Any] | None,
           profile: dict[str, Any] | None, why: str, notes: list[str], config: dict[str, Any], study: Study, wall: float,
           versus_sub: list[dict[str, Any]]) -> str:  # fmt: skip
    main_cols = ("setting", "changes", "n", "n_scored", "seconds_per_arch", "table_hours", "tau_cifar10", "rho_cifar10", "tau_cifar100",
                 "tau_ImageNet16-120", "top10_precision", "self_tau", "tau_threads", "snr_top20", "tau_diff", "diff_lo", "diff_hi",
                 "gain_vs_profile", "gain_lo", "gain_hi")  # fmt: skip
    band_cols = ("setting", *(f"tau_q{q + 1}" for q in range(QUINTILES)), *(f"tau_{d}" for d in common.DEVICES))
    rows = summary + extensions + baselines
    base = ", ".join(f"{k} {v}" for k, v in config["base"].items())
    chosen = (f"**fast profile: {profile['setting']}** ({profile['changes']}; tau {profile['tau_cifar10']:.3f}, "
              f"{profile['seconds_per_arch']:.2f} s per arch, full table ~{profile['table_hours']:.1f} h): {why}."
              if profile else f"No profile chosen: {why}.")  # fmt: skip
    for v in versus_sub:
        chosen += (f" On the first {v['n']} archs, {v['profile']} - {v['versus']} (a subsample setting, not a candidate for the best): "
                   f"tau {v['tau_diff']:+.3f} [{v['diff_lo']:+.3f}, {v['diff_hi']:+.3f}].")  # fmt: skip
    if extensions:
        top = max(extensions, key=lambda r: (r["tau_cifar10"], -r["capacity_weight"]))
        chosen += (f"\n\nCapacity tie-break (`search.capacity_weight` w, opt-in): the fast profile's score + w * log10(MFLOPs), "
                   f"w in {', '.join(str(r['capacity_weight']) for r in extensions)}; the highest tau on this sample: "
                   f"**w = {top['capacity_weight']:g}** (tau {top['tau_cifar10']:.3f}, gain over the profile {top['gain_vs_profile']:+.3f} "
                   f"[{top['gain_lo']:+.3f}, {top['gain_hi']:+.3f}]). Chosen here, on this sample: report it on other archs.")  # fmt: skip
    return (
        f"# proxy_fidelity\n\nRMI on CIFAR-10 JPEGs against the shared ResNet-20, {config['sample']} NB201 archs stratified by "
        f"FLOPs quintile (sample seed {config['sample_seed']}; expensive settings on the first {config['subsample']}), "
        f"probe seed {config['seed']}, {config['threads']} thread(s) per candidate, {config['backend']} backend x "
        f"{config['workers']}. Base: {base}. Accuracy: NB201 200-epoch test accuracy. {study.trained} scorings trained, "
        f"{study.looked_up} cache look-ups, {wall:.0f} s.\n\n"
        f"tau_diff: tau(setting) - tau(best = {best['setting'] if best else '-'}) vs CIFAR-10 accuracy, 95 % paired "
        f"bootstrap interval [diff_lo, diff_hi] ({config['bootstrap']} resamples). self_tau: replicate A vs B (other init "
        f"seeds); tau_threads: base at {config['threads']} vs {config['thread_check']} threads.\n\n"
        f"{common.md_table([{k: r.get(k, '') for k in main_cols} for r in rows])}\n"
        f"## tau (CIFAR-10) within FLOPs quintiles and under each device's median latency\n\n"
        f"{common.md_table([{k: r.get(k, '') for k in band_cols} for r in rows])}\n{chosen}\n\n"
        + "".join(f"\nSkipped: {n}." for n in notes) + "\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
