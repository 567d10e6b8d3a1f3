"""Log a search to TensorBoard under `tb_logs/<run name>` through Lightning's TensorBoardLogger:
per generation best/mean/worst fitness, best RMI, best cost vs budget, feasible fraction, unique
evaluations (NSGA-II: the front's hypervolume and size under `pareto/`); per candidate its RMI and cost;
the best genotype as text."""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning_nas.callbacks.base import SearchCallback


class TensorBoardSearchLogger(SearchCallback):
    def __init__(self) -> None:
        self.logger: TensorBoardLogger | None = None
        self.step = 0

    def on_search_start(self, search: Any) -> None:
        self.logger = TensorBoardLogger(
            save_dir=search.cfg.tb_logs, name=search.run_dir.name, version="", default_hp_metric=False
        )
        self.step = search.records.evaluations
        self.logger.experiment.add_text("config", "```\n" + search.config_yaml + "\n```", 0)

    def on_candidate_evaluated(self, search: Any, record: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {"candidate/rmi": record["rmi"], "candidate/fitness": record["fitness"]}
        for o in search.objectives:
            metrics[f"candidate/cost_{o.name}_{_tag(o.unit)}"] = record[f"cost_{o.name}"]
        self.logger.log_metrics({k: v for k, v in metrics.items() if _finite(v)}, step=self.step)
        self.step += 1

    def on_generation_end(self, search: Any, generation: int, s: dict[str, Any]) -> None:
        assert self.logger is not None
        metrics = {
            "generation/best_fitness": s["best_fitness"],
            "generation/mean_fitness": s["mean_fitness"],
            "generation/worst_fitness": s["worst_fitness"],
            "generation/best_rmi": s["best_rmi"],
            **{
                f"generation/best_cost_{o.name}_{_tag(o.unit)}": s["best_costs"][o.name]
                for o in search.objectives
            },
            **{f"generation/budget_{o.name}_{_tag(o.unit)}": o.budget for o in search.objectives},
            "generation/feasible_fraction": s["feasible_fraction"],
            "generation/unique_evaluations": s["unique_evaluations"],
            **{f"pareto/{k}": s[k] for k in ("hypervolume", "front_size", "feasible_front") if k in s},
        }
        self.logger.log_metrics({k: v for k, v in metrics.items() if _finite(v)}, step=generation)
        self.logger.experiment.add_text("best_genotype", s["best_description"], generation)
        self.logger.experiment.flush()

    def on_search_end(self, search: Any, results: dict[str, Any]) -> None:
        if self.logger is not None:
            self.logger.experiment.add_text(
                "result", f"{results['best']['description']} (feasible: {results['feasible']})", 0
            )
            self.logger.finalize("success")


def _tag(unit: str) -> str:
    return unit.replace(" ", "_").replace("/", "_per_")


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)
