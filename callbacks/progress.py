"""Print one line per generation (with the rate new candidates were scored at, whatever the backend,
the ETA of the whole search from the mean generation time so far, and for NSGA-II the front's size and
hypervolume) and a summary at the end."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lightning_nas.callbacks.base import SearchCallback

from lightning_nas.reporting.format import fmt, fmt_budget, fmt_cost

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView


class ConsoleProgress(SearchCallback):
    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.generation_seconds: list[float] = []

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_search_start(self, search: SearchView) -> None:
        ga = search.cfg.search
        how = search.goal
        self._print(
            f"search {search.cfg.space.name} on {search.cfg.data.name}: {ga.population} x {ga.generations} generations, "
            f"{search.cfg.proxy.steps} proxy steps, {how}; run dir {search.run_dir}"
        )

    def on_generation_end(self, search: SearchView, generation: int, s: dict[str, Any]) -> None:
        costs = "  ".join(
            f"{o.name} {fmt_cost(s['best_costs'][o.name], '.4g')}/{fmt_budget(o.budget)} {o.unit}" for o in search.objectives
        )
        self._print(
            f"gen {generation + 1:>3}/{search.cfg.search.generations}  best {fmt(s['best_fitness'])}  "
            f"mean {fmt(s['mean_fitness'])}  rmi {fmt(s['best_rmi'])}  {costs}  "
            f"feasible {s['feasible_fraction']:.0%}  {self._front(s)}new {s['new']}  cache hits {s['cache_hits']}  {s['seconds']:.1f}s  "
            f"{s['new'] / max(s['seconds'], 1e-9):.2f} cand/s  ETA {self._eta(search, generation, s['seconds'])}"
        )

    @staticmethod
    def _front(s: dict[str, Any]) -> str:
        """NSGA-II: the front's size and hypervolume (nothing for the GA)."""
        return f"front {s['front_size']}  hv {s['hypervolume']:.4g}  " if "front_size" in s else ""

    def _eta(self, search: SearchView, generation: int, seconds: float) -> str:
        """Remaining generations x the mean generation time of this session (a resumed run starts over)."""
        self.generation_seconds.append(seconds)
        left = search.cfg.search.generations - (generation + 1)
        eta = left * sum(self.generation_seconds) / len(self.generation_seconds)
        minutes, secs = divmod(round(eta), 60)
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"

    def on_search_end(self, search: SearchView, r: dict[str, Any]) -> None:
        best = r["best"]
        status = (
            "feasible" if r["feasible"] else "INFEASIBLE (no candidate met the budget; best infeasible shown)"
        )
        costs = ", ".join(
            f"{c['metric']} {fmt_cost(c['value'], '.4g')} / {fmt_budget(c['budget'])} {c['unit']}" for c in best["costs"]
        )
        self._print(f"best: {best['description']}")
        self._print(f"  RMI {fmt(best['rmi'])}, fitness {fmt(best['fitness'])}, {costs}: {status}")
        self._print(
            f"  {r['evaluations']} evaluations, {r['unique_evaluations']} unique, {r['trained']} trained here, "
            f"{r['persistent_cache_hits']} from the persistent cache, {r['wall_seconds']:.1f}s; "
            f"results in {search.run_dir} (results.json, evaluations.csv); TensorBoard: tensorboard --logdir {search.cfg.tb_logs}"
        )
        if "pareto_front" in r:
            self._print(
                f"  front: {len(r['pareto_front'])} architectures in {search.run_dir / 'pareto.csv'}, hypervolume "
                f"{fmt(r['hypervolume'])}; pick one under a budget: python -m lightning_nas.pick {search.run_dir} --budget VALUE"
            )
