"""`python -m lightning_nas.search`: the HW-EvRSNAS search.

Data flows search -> space -> proxy -> cost -> fitness: the GA proposes genotypes, the cost models price
them (cheap, first), the RMI proxy scores the ones not seen before, and fitness = RMI + penalty.
Without arguments it runs the embedded quick start (configs/quickstart.yaml: digits, a reduced NB201
proxy network, a FLOPs budget)."""

from __future__ import annotations

import csv
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from lightning_nas.callbacks.base import SearchCallback
from lightning_nas.config import RunConfig, apply_threads, config_from_yaml, config_to_yaml, parse_config
from lightning_nas.errors import ConfigError, cli_entry
from lightning_nas.pipeline import Problem, Scorer, build_problem, build_scorer
from lightning_nas.rmi.cache import RunCache, open_run_cache
from lightning_nas.run_dir import Stopwatch, new_run_dir, versions, write_json
from lightning_nas.search import checkpoint
from lightning_nas.search.fitness import feasible, fitness
from lightning_nas.search.ga import GAState, GeneticAlgorithm
from lightning_nas.spaces.base import Genotype


class Search:
    """One search run: owns the run directory, the evaluation cache and the records."""

    def __init__(self, cfg: RunConfig, callbacks: list[SearchCallback] | None = None) -> None:
        self.cfg = cfg
        self.callbacks = list(callbacks or [])
        self.problem: Problem = build_problem(cfg)  # validates everything cheap before any training
        self.space = self.problem.space
        self.cost_models = self.problem.cost_models
        self.budgets = self.problem.budgets
        self.run_dir = Path(cfg.resume or cfg.run_dir or new_run_dir(cfg.runs_root, cfg.name))
        self.config_yaml = config_to_yaml(_without_run_keys(cfg))
        self.cache: dict[str, dict[str, Any]] = {}
        self.rows: list[dict[str, Any]] = []
        self.scorer: Scorer | None = None
        self.persistent: RunCache | None = None  # the cross-run SQLite cache (cfg.cache)
        self.stopwatch = Stopwatch()
        self._gen_stats = {"trained": 0, "cache_hits": 0}
        self._gen_start = time.perf_counter()

    # ---- properties callbacks use ------------------------------------------------------------
    @property
    def evaluations_done(self) -> int:
        return len(self.rows)

    @property
    def unique_evaluations(self) -> int:
        """Distinct genotypes scored in this run (trained here or found in the persistent cache)."""
        return len(self.cache)

    @property
    def trained(self) -> int:
        """Candidates actually trained by this run."""
        return sum(1 for e in self.cache.values() if e.get("trained"))

    # ---- evaluation: cost first, then the proxy for unseen keys -----------------------------
    def costs(self, genotype: Genotype) -> list[float]:
        return [m.cost(genotype) for m in self.cost_models]

    def is_feasible(self, genotype: Genotype) -> bool:
        return feasible(self.costs(genotype), self.budgets)

    def _score(self, genotype: Genotype, key: str, costs: list[float]) -> dict[str, Any]:
        entry: dict[str, Any] = {"key": key, "genotype": self.space.to_json(genotype), "trained": False}
        if any(math.isnan(c) for c in costs):  # no cost value: infeasible whatever its RMI, do not train
            entry.update(rmi=None, cka=None, seconds=0.0, losses={})
        else:
            assert self.scorer is not None
            result = self.persistent.lookup(key) if self.persistent else None
            entry["persistent_hit"] = result is not None
            if result is None:
                result = self.scorer.evaluator.evaluate(genotype)
                if self.persistent:
                    self.persistent.store(key, result)
            entry.update(trained=not entry["persistent_hit"], rmi=result.rmi, cka=result.cka, seconds=result.seconds, losses=result.losses)
        checkpoint.append_cache(self.run_dir, entry)
        self.cache[key] = entry
        return entry

    def evaluate_population(self, genotypes: list[Genotype], generation: int) -> list[float]:
        self._gen_start = time.perf_counter()
        self._gen_stats = {"trained": 0, "cache_hits": 0}
        fits = []
        for i, g in enumerate(genotypes):
            key = self.space.key(g)
            costs = self.costs(g)
            entry = self.cache.get(key)
            hit = entry is not None
            if entry is None:
                entry = self._score(g, key, costs)
            self._gen_stats["cache_hits" if hit else "trained"] += 1
            rmi = entry["rmi"] if entry["rmi"] is not None else 0.0
            fit = fitness(rmi, costs, self.budgets, self.cfg.cost.normalized)
            fits.append(fit)
            row = {
                "generation": generation,
                "individual": i,
                "key": key,
                "genotype": self.space.to_json(g),
                "rmi": entry["rmi"],
                **{f"cka_{j}": c for j, c in enumerate(entry["cka"] or [])},
                **{f"cost_{m.name}": c for m, c in zip(self.cost_models, costs, strict=True)},
                "fitness": fit,
                "feasible": feasible(costs, self.budgets),
                "seconds": 0.0 if hit else entry["seconds"],
                "cache_hit": hit,
            }
            self.rows.append(row)
            for cb in self.callbacks:
                cb.on_candidate_evaluated(self, row)
        return fits

    # ---- per generation ---------------------------------------------------------------------
    def _on_generation(self, state: GAState, individuals: list[Any], record: dict[str, Any]) -> None:
        gen = state.generation - 1
        rows = [r for r in self.rows if r["generation"] == gen]
        best = max(rows, key=lambda r: r["fitness"])
        summary = {
            "best_fitness": record["max"],
            "mean_fitness": record["mean"],
            "worst_fitness": record["min"],
            "best_rmi": best["rmi"] if best["rmi"] is not None else math.nan,
            "best_cost": best[f"cost_{self.cost_models[0].name}"],
            "best_description": self.space.describe(self.space.from_json(best["genotype"])),
            "feasible_fraction": sum(r["feasible"] for r in rows) / len(rows),
            "unique_evaluations": self.unique_evaluations,
            "seconds": time.perf_counter() - self._gen_start,
            **self._gen_stats,
        }
        checkpoint.save(self.run_dir, self.space, state, self.rows, self.stopwatch.seconds(), checkpoint.config_hash(self.config_yaml))
        self._write_csv()
        for cb in self.callbacks:
            cb.on_generation_end(self, gen, summary)

    # ---- the run ----------------------------------------------------------------------------
    def _prepare_run_dir(self) -> GAState | None:
        if self.cfg.resume:
            if not (self.run_dir / "config.yaml").exists():
                raise ConfigError(f"not a run directory (no config.yaml): {self.run_dir}")
            state, self.rows, wall = checkpoint.load(self.run_dir, self.space, checkpoint.config_hash(self.config_yaml))
            self.cache = checkpoint.load_cache(self.run_dir)
            self.stopwatch = Stopwatch(offset=wall)
            return state
        self.run_dir.mkdir(parents=True, exist_ok=False)
        (self.run_dir / "config.yaml").write_text(self.config_yaml)
        write_json(self.run_dir / "versions.json", versions())
        return None

    def run(self) -> dict[str, Any]:
        state = self._prepare_run_dir()
        self.scorer = build_scorer(self.problem)
        self.persistent = open_run_cache(self.cfg, self.scorer, self.space)
        write_json(self.run_dir / "setup.json", {"seed": self.cfg.seed, **self.scorer.info})
        ga = GeneticAlgorithm(self.space, self.cfg.search, self.evaluate_population, self.is_feasible, self._on_generation)
        for cb in self.callbacks:
            cb.on_search_start(self)
        state, last, hof = ga.run(random.Random(self.cfg.seed), state)
        results = self._results(state, last, hof)
        write_json(self.run_dir / "results.json", results)
        self._write_csv()
        for cb in self.callbacks:
            cb.on_search_end(self, results)
        return results

    def candidate_summary(self, genotype: Genotype, fit: float) -> dict[str, Any]:
        entry = self.cache[self.space.key(genotype)]
        costs = self.costs(genotype)
        out: dict[str, Any] = {
            "genotype": self.space.to_json(genotype),
            "key": self.space.key(genotype),
            "description": self.space.describe(genotype),
            "rmi": entry["rmi"],
            "cka": entry["cka"],
            "fitness": fit,
            "cost": costs[0],
            "costs": [
                {"metric": m.name, "value": c, "budget": b, "unit": m.unit}
                for m, c, b in zip(self.cost_models, costs, self.budgets, strict=True)
            ],
            "feasible": feasible(costs, self.budgets),
        }
        if self.space.name == "nb201":
            from lightning_nas.spaces.nb201.space import nb201_index

            out["arch_str"] = out["description"]
            out["nb201_index"] = nb201_index(genotype)
        return out

    def _results(self, state: GAState, last: list[Any], hof: Any) -> dict[str, Any]:
        winner = max(last, key=lambda ind: ind.fitness.values[0])  # the best of the last generation
        best = self.candidate_summary(winner.genotype, winner.fitness.values[0])
        results: dict[str, Any] = {
            "best": best,
            "feasible": best["feasible"],
            "budget": self.budgets[0],
            "cost_metric": self.cost_models[0].name,
            "cost_unit": self.cost_models[0].unit,
            "constraints": best["costs"],
            "penalty": "normalized" if self.cfg.cost.normalized else "absolute",
            "constraint_handling": self.cfg.search.constraint_handling,
            "evaluations": len(self.rows),
            "unique_evaluations": self.unique_evaluations,
            "trained": self.trained,
            "cache_hits": sum(r["cache_hit"] for r in self.rows),
            "persistent_cache_hits": sum(1 for e in self.cache.values() if e.get("persistent_hit")),
            "samples_drawn": state.draws,
            "generations": state.generation,
            "wall_seconds": self.stopwatch.seconds(),
            "seed": self.cfg.seed,
            "hall_of_fame": [self.candidate_summary(ind.genotype, ind.fitness.values[0]) for ind in hof],
            "logbook": state.logbook,
            "run_dir": str(self.run_dir),
        }
        if not best["feasible"]:
            feasible_rows = [r for r in self.rows if r["feasible"] and r["rmi"] is not None]
            if feasible_rows:
                top = max(feasible_rows, key=lambda r: r["fitness"])
                results["best_feasible"] = self.candidate_summary(self.space.from_json(top["genotype"]), top["fitness"])
        return results

    def _write_csv(self) -> None:
        if not self.rows:
            return
        fields = list(dict.fromkeys(k for r in self.rows for k in r))
        tmp = self.run_dir / "evaluations.csv.tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()})
        tmp.replace(self.run_dir / "evaluations.csv")


def _without_run_keys(cfg: RunConfig) -> RunConfig:
    """The config as recorded: where the run lives and whether it resumed do not change its result."""
    from dataclasses import replace

    return replace(cfg, run_dir=None, resume=None)


def default_callbacks(cfg: RunConfig) -> list[SearchCallback]:
    from lightning_nas.callbacks.progress import ConsoleProgress
    from lightning_nas.callbacks.tensorboard import TensorBoardSearchLogger

    cbs: list[SearchCallback] = [ConsoleProgress(), TensorBoardSearchLogger()]
    if cfg.finetune.enabled:
        from lightning_nas.callbacks.finetune import FinetuneWinner

        cbs.append(FinetuneWinner())
    from lightning_nas.callbacks.report import SearchReport

    cbs.append(SearchReport())  # last: the report includes the fine-tuning results
    return cbs


def resolve(argv: list[str] | None) -> RunConfig:
    cfg, _ = parse_config(argv, prog="python -m lightning_nas.search", description=__doc__)
    if cfg.resume:
        run_dir = Path(cfg.resume)
        if not (run_dir / "config.yaml").exists():
            raise ConfigError(f"cannot resume: {run_dir} is not a run directory (no config.yaml)")
        resumed = config_from_yaml(run_dir / "config.yaml")
        resumed.resume = str(run_dir)
        resumed.tb_logs = cfg.tb_logs
        return resumed
    return cfg


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg = resolve(argv)
    apply_threads(cfg)
    search = Search(cfg, default_callbacks(cfg))
    try:
        search.run()
    except KeyboardInterrupt:
        print(f"interrupted; continue with: python -m lightning_nas.search --resume {search.run_dir}", file=sys.stderr)
        return 130
    return 0

