"""One HW-EvRSNAS search run. Data flows search -> space -> proxy -> cost -> fitness: the GA proposes
genotypes, every objective prices them (cheap, first), the RMI proxy scores the ones the run has not
seen (`CandidateScorer`), and fitness = RMI + penalty. `RunRecords` keeps what was evaluated,
`checkpoint` makes it resumable, `results` writes the answer and the hooks report progress."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

from lightning_nas.backends import Backend, build_backend
from lightning_nas.config import RunConfig, config_to_yaml
from lightning_nas.errors import ConfigError
from lightning_nas.pipeline import Problem, build_problem, build_scorer
from lightning_nas.rmi.cache import open_run_cache
from lightning_nas.run_dir import Stopwatch, new_run_dir, versions, write_json
from lightning_nas.search import checkpoint
from lightning_nas.search.fitness import feasible, fitness
from lightning_nas.search.ga import GAState, GeneticAlgorithm
from lightning_nas.search.hooks import SearchHooks
from lightning_nas.search.records import RunRecords
from lightning_nas.search.results import build_results
from lightning_nas.search.scoring import CandidateScorer
from lightning_nas.spaces.base import Genotype


class Search:
    """Owns the run directory and wires the parts; each part has one job."""

    def __init__(self, cfg: RunConfig, callbacks: list[SearchHooks] | None = None) -> None:
        self.cfg = cfg
        self.callbacks = list(callbacks or [])
        self.problem: Problem = build_problem(cfg)  # validates everything cheap before any training
        self.space = self.problem.space
        self.objectives = self.problem.objectives
        self.run_dir = Path(cfg.resume or cfg.run_dir or new_run_dir(cfg.runs_root, cfg.name))
        self.config_yaml = config_to_yaml(recorded_config(cfg))
        self.records = RunRecords(self.run_dir)
        self.scorer: CandidateScorer | None = None
        self.stopwatch = Stopwatch()
        self._generation_start = time.perf_counter()

    @property
    def budgets(self) -> list[float]:
        return self.problem.budgets

    def costs(self, genotype: Genotype) -> list[float]:
        return self.problem.costs(genotype)

    def is_feasible(self, genotype: Genotype) -> bool:
        return feasible(self.costs(genotype), self.budgets)

    # ---- one generation ------------------------------------------------------------------------
    def evaluate_population(self, genotypes: list[Genotype], generation: int) -> list[float]:
        """Fitness of each genotype, in population order; unseen keys are scored as one batch."""
        assert self.scorer is not None
        self._generation_start = time.perf_counter()
        costs = [self.costs(g) for g in genotypes]
        keys = [self.space.key(g) for g in genotypes]
        new: dict[str, int] = {}  # each key this run has not scored -> its first position
        for i, key in enumerate(keys):
            if key not in self.records.entries and key not in new:
                new[key] = i
        self.scorer.score_new([genotypes[i] for i in new.values()], [costs[i] for i in new.values()])
        fits = []
        for i, (g, key, cost) in enumerate(zip(genotypes, keys, costs, strict=True)):
            row = self._row(generation, i, g, key, cost, fresh=new.get(key) == i)
            fits.append(row["fitness"])
            self.records.add_row(row)
            for cb in self.callbacks:
                cb.on_candidate_evaluated(self, row)
        return fits

    def _row(
        self, generation: int, i: int, genotype: Genotype, key: str, costs: list[float], fresh: bool
    ) -> dict[str, Any]:
        entry = self.records.entries[key]
        rmi = entry["rmi"] if entry["rmi"] is not None else 0.0
        return {
            "generation": generation,
            "individual": i,
            "key": key,
            "genotype": self.space.to_json(genotype),
            "rmi": entry["rmi"],
            **{f"cka_{j}": c for j, c in enumerate(entry["cka"] or [])},
            **{f"cost_{o.name}": c for o, c in zip(self.objectives, costs, strict=True)},
            "fitness": fitness(rmi, costs, self.budgets, self.cfg.cost.normalized),
            "feasible": feasible(costs, self.budgets),
            "seconds": entry["seconds"] if fresh else 0.0,
            "cache_hit": not fresh,
            **({"error": entry["error"]} if entry.get("error") else {}),
        }

    def _on_generation(self, state: GAState, _individuals: list[Any], record: dict[str, Any]) -> None:
        gen = state.generation - 1
        rows = self.records.generation(gen)
        best = max(rows, key=lambda r: r["fitness"])
        new = sum(not r["cache_hit"] for r in rows)
        summary = {
            "best_fitness": record["max"],
            "mean_fitness": record["mean"],
            "worst_fitness": record["min"],
            "best_rmi": best["rmi"] if best["rmi"] is not None else math.nan,
            "best_costs": {o.name: best[f"cost_{o.name}"] for o in self.objectives},
            "best_description": self.space.describe(self.space.from_json(best["genotype"])),
            "feasible_fraction": sum(r["feasible"] for r in rows) / len(rows),
            "unique_evaluations": self.records.unique,
            "new": new,
            "cache_hits": len(rows) - new,
            "seconds": time.perf_counter() - self._generation_start,
        }
        checkpoint.save(
            self.run_dir,
            self.space,
            state,
            self.records.rows,
            self.stopwatch.seconds(),
            checkpoint.config_hash(self.config_yaml),
        )
        self.records.write_csv()
        for cb in self.callbacks:
            cb.on_generation_end(self, gen, summary)

    # ---- the run -------------------------------------------------------------------------------
    def _open_run_dir(self) -> GAState | None:
        """A new run directory, or the state to continue from (`resume`)."""
        if self.cfg.resume:
            if not (self.run_dir / "config.yaml").exists():
                raise ConfigError(f"not a run directory (no config.yaml): {self.run_dir}")
            state, rows, wall = checkpoint.load(
                self.run_dir, self.space, checkpoint.config_hash(self.config_yaml)
            )
            self.records = RunRecords(self.run_dir, checkpoint.load_cache(self.run_dir), rows)
            self.stopwatch = Stopwatch(offset=wall)
            return state
        self.run_dir.mkdir(parents=True, exist_ok=False)
        (self.run_dir / "config.yaml").write_text(self.config_yaml)
        write_json(self.run_dir / "versions.json", versions())
        return None

    def run(self) -> dict[str, Any]:
        backend = build_backend(self.cfg)  # connects to Ray, if asked, before anything is written
        try:
            return self._run(backend)
        finally:
            backend.close()

    def _run(self, backend: Backend) -> dict[str, Any]:
        state = self._open_run_dir()
        scorer = build_scorer(self.problem)
        backend.start(scorer.evaluator)
        persistent = open_run_cache(self.cfg, scorer, self.space)
        self.scorer = CandidateScorer(self.space, backend, self.records, persistent)
        execution = {"backend": backend.name, "workers": backend.workers}
        write_json(self.run_dir / "setup.json", {"seed": self.cfg.seed, **scorer.info, **execution})
        ga = GeneticAlgorithm(
            self.space, self.cfg.search, self.evaluate_population, self.is_feasible, self._on_generation
        )
        for cb in self.callbacks:
            cb.on_search_start(self)
        state, last, hof = ga.run(random.Random(self.cfg.seed), state)
        results = build_results(
            self.cfg,
            self.space,
            self.objectives,
            self.records,
            state,
            last,
            hof,
            self.stopwatch.seconds(),
            str(self.run_dir),
        )
        write_json(self.run_dir / "results.json", results)
        self.records.write_csv()
        for cb in self.callbacks:
            cb.on_search_end(self, results)
        return results


def recorded_config(cfg: RunConfig) -> RunConfig:
    """The config as recorded: where the run lives and whether it resumed do not change its result."""
    from dataclasses import replace

    return replace(cfg, run_dir=None, resume=None)
