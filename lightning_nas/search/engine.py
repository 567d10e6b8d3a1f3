"""One HW-EvRSNAS search run. Data flows search -> space -> proxy -> cost -> fitness: the GA proposes
genotypes, every objective prices them (cheap, first), the RMI proxy scores the ones the run has not
seen (`CandidateScorer`), and fitness = RMI + penalty. `RunRecords` keeps what was evaluated,
`checkpoint` makes it resumable, `results` writes the answer and the hooks report progress."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from lightning_nas.backends import Backend, build_backend
from lightning_nas.config import RunConfig, config_to_yaml
from lightning_nas.errors import ConfigError
from lightning_nas.pipeline import Problem, Scorer, build_problem, build_scorer
from lightning_nas.rmi.score_source import open_score_source
from lightning_nas.run_dir import (
    Stopwatch,
    commit_run_dir,
    new_run_dir,
    stage_run_dir,
    versions,
    write_json,
    write_text,
)
from lightning_nas.search import checkpoint
from lightning_nas.search.fitness import feasible, fitness
from lightning_nas.search.ga import GAState, GeneticAlgorithm, fitness_stats
from lightning_nas.search.hooks import SearchHooks
from lightning_nas.search.nsga2 import NSGA2
from lightning_nas.search.pareto import objective_point
from lightning_nas.search.records import RunRecords
from lightning_nas.search.results import PARETO_CSV, build_results, front_answer, ga_answer, write_pareto_csv
from lightning_nas.search.resume import check_same_run, config_of_run, identity, warn_version_changes
from lightning_nas.search.scoring import CandidateScorer
from lightning_nas.spaces.base import Genotype

log = logging.getLogger(__name__)


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
        self._start_generation = 0
        self._generation_start = time.perf_counter()

    @property
    def budgets(self) -> list[float]:
        return self.problem.budgets

    def costs(self, genotype: Genotype) -> list[float]:
        return self.problem.costs(genotype)

    def is_feasible(self, genotype: Genotype) -> bool:
        return feasible(self.costs(genotype), self.budgets)

    # ---- one generation ------------------------------------------------------------------------
    def evaluate_population(self, genotypes: list[Genotype], generation: int) -> list[Any]:
        """Fitness of each genotype, in population order (the GA: RMI + penalty; NSGA-II: the point
        (RMI, costs..., violation)); unseen keys are scored as one batch."""
        assert self.scorer is not None
        self._generation_start = time.perf_counter()
        costs = [self.costs(g) for g in genotypes]
        keys = [self.space.key(g) for g in genotypes]
        new: dict[str, int] = {}  # each key this run has not scored -> its first position
        for i, key in enumerate(keys):
            if key not in self.records.entries and key not in new:
                new[key] = i
        self.scorer.score_new(
            [genotypes[i] for i in new.values()],
            [costs[i] for i in new.values()],
            progress=lambda done, total: self._dispatch("on_candidate_scored", generation, done, total),
        )
        fits = []
        for i, (g, key, cost) in enumerate(zip(genotypes, keys, costs, strict=True)):
            row = self._row(generation, i, g, key, cost, fresh=new.get(key) == i)
            fits.append(row["fitness"] if self.cfg.search.algorithm == "ga" else objective_point(row["rmi"], cost, self.budgets))
            self.records.add_row(row)
            for cb in self.callbacks:
                cb.on_candidate_evaluated(self, row)
        return fits

    def _dispatch(self, hook: str, *args: Any) -> None:
        """Call an optional hook (one a callback may lack, e.g. `on_candidate_scored`) where it exists."""
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self, *args)

    def _row(
        self, generation: int, i: int, genotype: Genotype, key: str, costs: list[float], fresh: bool
    ) -> dict[str, Any]:
        entry = self.records.entries[key]
        rmi = entry["rmi"] if entry["rmi"] is not None else 0.0
        capacity = self.problem.capacity(genotype)
        return {
            "generation": generation,
            "individual": i,
            "key": key,
            "genotype": self.space.to_json(genotype),
            "rmi": entry["rmi"],
            **{f"cka_{j}": c for j, c in enumerate(entry["cka"] or [])},
            **{f"cost_{o.name}": c for o, c in zip(self.objectives, costs, strict=True)},
            **({"capacity": capacity} if self.cfg.search.capacity_weight else {}),
            "fitness": fitness(rmi, costs, self.budgets, self.cfg.cost.normalized, capacity),
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
        stats = record if "max" in record else fitness_stats([r["fitness"] for r in rows])
        summary = {
            "best_fitness": stats["max"],
            "mean_fitness": stats["mean"],
            "worst_fitness": stats["min"],
            "best_rmi": best["rmi"] if best["rmi"] is not None else math.nan,
            "best_costs": {o.name: best[f"cost_{o.name}"] for o in self.objectives},
            "best_description": self.space.describe(self.space.from_json(best["genotype"])),
            "feasible_fraction": sum(r["feasible"] for r in rows) / len(rows),
            "unique_evaluations": self.records.unique,
            "new": new,
            "cache_hits": len(rows) - new,
            "seconds": time.perf_counter() - self._generation_start,
            **{k: record[k] for k in ("front_size", "feasible_front", "hypervolume") if k in record},
        }
        if self._checkpoint_due(state.generation):
            checkpoint.save(
                self.run_dir,
                self.space,
                state,
                self.records.rows,
                self.stopwatch.seconds(),
                identity(self.cfg),
            )
            self.records.write_csv()
        for cb in self.callbacks:
            cb.on_generation_end(self, gen, summary)

    def _checkpoint_due(self, finished: int) -> bool:
        """After `finished` generations: every `search.checkpoint_every` of them, and after the last."""
        every = self.cfg.search.checkpoint_every
        return finished >= self.cfg.search.generations or (every > 0 and finished % every == 0)

    # ---- the run -------------------------------------------------------------------------------
    def _resume_state(self) -> GAState | None:
        """The state to continue from, with every score the run recorded. Without a usable checkpoint
        (stopped in generation 0, file damaged) the GA starts again from its seed and replays: the
        candidates it had scored are taken from evaluations.jsonl, so nothing scored is trained again."""
        check_same_run(config_of_run(self.run_dir), self.cfg, str(self.run_dir))
        warn_version_changes(self.run_dir)
        entries = checkpoint.load_cache(self.run_dir, self.space)
        try:
            state, rows, wall = checkpoint.load(self.run_dir, self.space, identity(self.cfg))
        except checkpoint.CheckpointUnusable as why:
            log.warning("%s; replaying the search from its %d recorded score(s)", why, len(entries))
            self.records = RunRecords(self.run_dir, entries)
            return None
        if state.generation > self.cfg.search.generations:
            raise ConfigError(
                f"search.generations {self.cfg.search.generations} is below the {state.generation} generations "
                f"{self.run_dir} has finished; give at least {state.generation}"
            )
        self.records = RunRecords(self.run_dir, entries, rows)
        self.records.restore_missing_entries()
        self.stopwatch = Stopwatch(offset=wall)
        return state

    def _write_run_files(self, where: Path, setup: dict[str, Any]) -> None:
        """config.yaml (as resolved now), versions.json (of the first start) and setup.json (each resume
        appended to it with its versions)."""
        write_text(where / "config.yaml", self.config_yaml)
        resumes = _previous_resumes(where / "setup.json")
        if self.cfg.resume:
            at = datetime.now().isoformat(timespec="seconds")
            resumes.append({"at": at, "from_generation": self._start_generation, "versions": versions()})
        if not (where / "versions.json").exists():
            write_json(where / "versions.json", versions())
        write_json(where / "setup.json", {**setup, "resumes": resumes})

    def run(self) -> dict[str, Any]:
        state = self._resume_state() if self.cfg.resume else None  # cheap checks before any work
        self._start_generation = state.generation if state else 0
        staging = None if self.cfg.resume else stage_run_dir(self.run_dir)
        backend: Backend | None = None
        try:
            backend = build_backend(self.cfg)  # connects to Ray, if asked, before the reference is built
            scorer = build_scorer(self.problem)
            setup = {"seed": self.cfg.seed, **scorer.info, "backend": backend.name, "workers": backend.workers}
            self._write_run_files(staging or self.run_dir, setup)
            if staging is not None:
                commit_run_dir(staging, self.run_dir)
                staging = None
            backend.start(scorer.evaluator)
            return self._search(backend, scorer, state)
        except BaseException as error:  # Ctrl-C included: callbacks close what they hold open, then it goes on
            self._on_exception(error)
            raise
        finally:
            if backend is not None:
                backend.close()
            if staging is not None:  # failed before the run started: leave nothing behind
                shutil.rmtree(staging, ignore_errors=True)

    def _on_exception(self, error: BaseException) -> None:
        for cb in self.callbacks:
            hook = getattr(cb, "on_exception", None)
            if hook is None:
                continue
            try:
                hook(self, error)
            except Exception:  # noqa: BLE001 - the run's own error is the one to report
                log.warning("%s.on_exception failed", type(cb).__name__, exc_info=True)

    def _search(self, backend: Backend, scorer: Scorer, state: GAState | None) -> dict[str, Any]:
        persistent = open_score_source(self.cfg, scorer, self.space)
        self.scorer = CandidateScorer(self.space, backend, self.records, persistent)
        for cb in self.callbacks:
            cb.on_search_start(self)
        ga_seed = self.cfg.search.seed
        rng = random.Random(self.cfg.seed if ga_seed is None else ga_seed)
        if self.cfg.search.algorithm == "nsga2":
            reference = self.cfg.search.hv_reference or None
            nsga2 = NSGA2(self.space, self.cfg.search, self.evaluate_population, self._on_generation, reference)
            state, _parents, front = nsga2.run(rng, state)
            answer = front_answer(self.space, self.objectives, self.records, list(front), self.cfg.cost.normalized)
        else:
            ga = GeneticAlgorithm(
                self.space, self.cfg.search, self.evaluate_population, self.is_feasible, self._on_generation
            )
            state, last, hof = ga.run(rng, state)
            answer = ga_answer(last, hof)
        results = build_results(
            self.cfg, self.space, self.objectives, self.records, state, answer, self.stopwatch.seconds(), str(self.run_dir)
        )
        write_json(self.run_dir / "results.json", results)
        if "pareto_front" in results:
            write_pareto_csv(self.run_dir / PARETO_CSV, results["pareto_front"], self.objectives, self.space)
        self.records.write_csv()
        for cb in self.callbacks:
            cb.on_search_end(self, results)
        return results


def _previous_resumes(setup_file: Path) -> list[dict[str, Any]]:
    try:
        resumes = json.loads(setup_file.read_text()).get("resumes", [])
        return resumes if isinstance(resumes, list) else []
    except (OSError, ValueError, AttributeError):
        return []


def recorded_config(cfg: RunConfig) -> RunConfig:
    """The config as recorded: where the run lives and whether it resumed do not change its result."""
    from dataclasses import replace

    return replace(cfg, run_dir=None, resume=None)
