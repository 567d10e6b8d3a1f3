"""One HW-EvRSNAS search run. Data flows search -> space -> proxy -> cost -> fitness: the strategy
(`search.algorithm`, from `STRATEGIES`) proposes genotypes, every objective prices them (cheap, first), the RMI proxy scores the ones the run has not
seen (`CandidateScorer`), and fitness = RMI + penalty. `RunRecords` keeps what was evaluated,
`checkpoint` makes it resumable, `results` writes the answer and the hooks report progress."""

from __future__ import annotations

import logging
import random
import shutil
import time
from pathlib import Path
from typing import Any

from lightning_nas.backends import Backend, build_backend
from lightning_nas.callbacks.base import SearchCallback, as_callback
from lightning_nas.config import RunConfig, config_to_yaml
from lightning_nas.pipeline import Problem, Scorer, ScorerFactory, build_problem, build_scorer
from lightning_nas.rmi.score_source import open_score_source
from lightning_nas.run_dir import Stopwatch, commit_run_dir, new_run_dir, stage_run_dir, write_json
from lightning_nas.search import checkpoint
from lightning_nas.search.evolution import GAState
from lightning_nas.search.fitness import feasible
from lightning_nas.search.generation import candidate_row, generation_summary
from lightning_nas.search.records import RunRecords
from lightning_nas.search.restart import recorded_config, restore_run, write_run_files
from lightning_nas.search.results import PARETO_CSV, build_results, write_pareto_csv
from lightning_nas.search.resume import identity
from lightning_nas.search.scoring import CandidateScorer
from lightning_nas.search.strategy import strategy_of
from lightning_nas.search.view import RowsSoFar, SearchView
from lightning_nas.spaces.base import Genotype

log = logging.getLogger(__name__)


class Search:
    """Owns the run directory and wires the parts; each part has one job. `strategy` (the class that
    `search.algorithm` names) runs the generations and answers; the engine evaluates and records."""

    def __init__(self, cfg: RunConfig, callbacks: list[SearchCallback | Any] | None = None,
                 scorer: ScorerFactory | None = None, backend: Backend | None = None) -> None:  # fmt: skip
        """`scorer` builds the proxy scorer (default `build_scorer`; a `ScorerMemo` shares one between
        searches); `backend`: one the caller owns (started here, closed by the caller)."""
        self.cfg = cfg
        self.callbacks = [as_callback(cb) for cb in callbacks or []]  # every hook of each is called
        self._make_scorer: ScorerFactory = build_scorer if scorer is None else scorer
        self._given_backend = backend
        self.problem: Problem = build_problem(cfg)  # validates everything cheap before any training
        self.space = self.problem.space
        self.objectives = self.problem.objectives
        self.strategy = strategy_of(cfg.search)
        self.run_dir = Path(cfg.resume or cfg.run_dir or new_run_dir(cfg.runs_root, cfg.name))
        self.config_yaml = config_to_yaml(recorded_config(cfg))
        self.records = RunRecords(self.run_dir)
        self.scorer: CandidateScorer | None = None
        self.stopwatch = Stopwatch()
        self._start_generation = 0
        self._generation_start = time.perf_counter()
        self._backend: Backend | None = None

    @property
    def budgets(self) -> list[float]:
        return self.problem.budgets

    def costs(self, genotype: Genotype) -> list[float]:
        return self.problem.costs(genotype)

    def is_feasible(self, genotype: Genotype) -> bool:
        return feasible(self.costs(genotype), self.budgets)

    # ---- one generation ------------------------------------------------------------------------
    def evaluate_population(self, genotypes: list[Genotype], generation: int) -> list[Any]:
        """Fitness of each genotype, in population order, as the strategy takes it (the GA: RMI + penalty;
        NSGA-II: the point (RMI, costs..., violation)); unseen keys are scored as one batch."""
        assert self.scorer is not None
        self._generation_start = time.perf_counter()
        costs = [self.costs(g) for g in genotypes]
        new: dict[str, int] = {}  # each key this run has not scored -> its first position
        for i, key in enumerate(self.space.key(g) for g in genotypes):
            if key not in self.records.entries and key not in new:
                new[key] = i
        self.scorer.score_new(
            [genotypes[i] for i in new.values()],
            [costs[i] for i in new.values()],
            progress=lambda done, total: self._scored(generation, done, total),
        )
        fits = []
        for i, (g, cost) in enumerate(zip(genotypes, costs, strict=True)):
            fresh = new.get(self.space.key(g)) == i
            row = candidate_row(self.problem, self.records, (generation, i), g, cost, fresh)
            fits.append(self.strategy.fitness_of(row, cost, self.budgets))
            self.records.add_row(row)
            for cb in self.callbacks:
                cb.on_candidate_evaluated(self.view(generation), row)
        return fits

    def _scored(self, generation: int, done: int, total: int) -> None:
        for cb in self.callbacks:
            cb.on_candidate_scored(self.view(generation), generation, done, total)

    def view(self, generation: int | None = None) -> SearchView:
        """What the callbacks read of the search (`generation` None: that of the last row, or the first)."""
        return _view_of(self, generation)

    def on_generation(self, state: GAState, _individuals: list[Any], record: dict[str, Any]) -> None:
        """After each generation: its checkpoint when due, then the callbacks with its summary."""
        seconds = time.perf_counter() - self._generation_start
        summary = generation_summary(self.problem, self.records, record, seconds, self.strategy.generation_metrics)
        if self._checkpoint_due(state.generation):
            wall = self.stopwatch.seconds()
            checkpoint.save(self.run_dir, self.space, state, self.records.rows, wall, identity(self.cfg))
            self.records.write_csv()
        for cb in self.callbacks:
            cb.on_generation_end(self.view(state.generation - 1), state.generation - 1, summary)

    def _checkpoint_due(self, finished: int) -> bool:
        """After `finished` generations: every `search.checkpoint_every` of them, and after the last."""
        every = self.cfg.search.checkpoint_every
        return finished >= self.cfg.search.generations or (every > 0 and finished % every == 0)

    # ---- the run -------------------------------------------------------------------------------
    def _resume_state(self) -> GAState | None:
        """The state to continue from (None: replay from the seed), with every score the run recorded."""
        state, self.records, stopwatch = restore_run(self.cfg, self.run_dir, self.space)
        self.stopwatch = stopwatch or self.stopwatch
        return state

    def run(self) -> dict[str, Any]:
        state = self._resume_state() if self.cfg.resume else None  # cheap checks before any work
        self._start_generation = state.generation if state else 0
        staging = None if self.cfg.resume else stage_run_dir(self.run_dir)
        backend: Backend | None = None
        try:
            backend = self._given_backend if self._given_backend is not None else build_backend(self.cfg)  # Ray connects first
            scorer = self._make_scorer(self.problem)
            setup = {"seed": self.cfg.seed, **scorer.info, "backend": backend.name, "workers": backend.workers}
            resumed_from = self._start_generation if self.cfg.resume else None
            write_run_files(staging or self.run_dir, self.config_yaml, setup, resumed_from)
            if staging is not None:
                commit_run_dir(staging, self.run_dir)
                staging = None
            backend.start(scorer.evaluator)
            return self._search(backend, scorer, state)
        except BaseException as error:  # Ctrl-C included: callbacks close what they hold open, then it goes on
            self._on_exception(error)
            raise
        finally:
            if backend is not None and backend is not self._given_backend:
                backend.close()
            if staging is not None:  # failed before the run started: leave nothing behind
                shutil.rmtree(staging, ignore_errors=True)

    def _on_exception(self, error: BaseException) -> None:
        view = self.view()
        for cb in self.callbacks:
            try:
                cb.on_exception(view, error)
            except Exception:  # noqa: BLE001 - the run's own error is the one to report
                log.warning("%s.on_exception failed", type(cb).__name__, exc_info=True)

    def _search(self, backend: Backend, scorer: Scorer, state: GAState | None) -> dict[str, Any]:
        persistent = open_score_source(self.cfg, scorer, self.space)
        self.scorer = CandidateScorer(self.space, backend, self.records, persistent)
        self._backend = backend
        for cb in self.callbacks:
            cb.on_search_start(self.view(self._start_generation))
        ga_seed = self.cfg.search.seed
        rng = random.Random(self.cfg.seed if ga_seed is None else ga_seed)
        strategy = self.strategy.for_search(self)
        state = strategy.run(rng, state)[0]
        answer = strategy.answer(self)
        results = build_results(
            self.cfg, self.space, self.objectives, self.records, state, answer, self.stopwatch.seconds(), str(self.run_dir)
        )
        write_json(self.run_dir / "results.json", results)
        if "pareto_front" in results:
            write_pareto_csv(self.run_dir / PARETO_CSV, results["pareto_front"], self.objectives, self.space)
        self.records.write_csv()
        for cb in self.callbacks:
            cb.on_search_end(self.view(), results)
        return results


def _view_of(search: Search, generation: int | None) -> SearchView:
    """The `SearchView` of `search` at `generation` (None: that of its last row, or the first it runs)."""
    if generation is None:
        generation = search.records.rows[-1]["generation"] if search.records.rows else search._start_generation
    return SearchView(
        cfg=search.cfg,
        run_dir=search.run_dir,
        space=search.space,
        objectives=search.objectives,
        generation=generation,
        rows=RowsSoFar(search.records.rows),
        config_yaml=search.config_yaml,
        goal=search.strategy.goal(search.objectives, search.cfg.search),
        generation_metrics=tuple(search.strategy.generation_metrics),
        backend=search._backend,
    )
