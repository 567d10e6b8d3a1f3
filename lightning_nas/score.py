"""`python -m lightning_nas.score --config FILE --arch ARCH [overrides]`: score one architecture with
the RMI proxy and print one JSON object (rmi, per-layer cka, costs, seconds, ...)."""

from __future__ import annotations

import json
from typing import Any

from lightning_nas.cli import prog as cli_prog
from lightning_nas.config import apply_threads, parse_config
from lightning_nas.errors import cli_entry


def _add_arch(parser: Any) -> None:
    parser.add_argument("--arch", type=str, required=True, help="NB201 arch string or genotype JSON of the space")


@cli_entry
def main(argv: list[str] | None = None) -> int:
    cfg, ns = parse_config(argv, prog=cli_prog("score"), description=__doc__, extra=_add_arch)
    apply_threads(cfg)
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.search.fitness import feasible, fitness

    problem = build_problem(cfg, check_budgets=False)
    genotype = problem.space.parse(ns["arch"])
    costs = [m.cost(genotype) for m in problem.cost_models]
    scorer = build_scorer(problem)
    result = scorer.evaluator.evaluate(genotype)
    out = {
        "arch": problem.space.describe(genotype),
        "genotype": problem.space.to_json(genotype),
        "rmi": result.rmi,
        "cka": result.cka,
        "losses": result.losses,
        "seconds": result.seconds,
        "costs": {m.name: {"value": c, "unit": m.unit, "budget": b} for m, c, b in zip(problem.cost_models, costs, problem.budgets, strict=True)},
        "fitness": fitness(result.rmi, costs, problem.budgets, cfg.cost.normalized, problem.capacity(genotype)),
        "feasible": feasible(costs, problem.budgets),
        "seed": cfg.seed,
        "proxy": {"steps": cfg.proxy.steps, "beta": cfg.proxy.beta, **problem.space.proxy_size()},
        "probe_digest": scorer.probe.digest(),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    from lightning_nas.interrupt import run_command

    run_command(main)
