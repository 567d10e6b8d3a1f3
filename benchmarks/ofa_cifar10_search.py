"""A small HW-EvRSNAS search in the OFA MobileNetV3 space on the CIFAR-10 JPEGs, at a CPU-feasible size
(benchmarks/configs/ofa_cifar10_cpu.yaml: reference ResNet-20 from ../shared, 20 proxy steps, population 8
x 5 generations, FLOPs budget 6.5 MMACs at 32x32). Reports the found subnet's FLOPs against the budget.

    python benchmarks/ofa_cifar10_search.py                      # ~10 min on 2 shared CPU cores
    python benchmarks/ofa_cifar10_search.py --cost.budget 5.5    # any config override passes through

Writes benchmarks/results/ofa_cifar10_search/ (summary.md, summary.json, evaluations.csv, command/config)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    REFERENCE,
    REPO,
    RESULTS,
    cifar_root,
    md_table,
    require_shared,
    write_provenance,
)

from lightning_nas.config import set_torch_threads

CONFIG = REPO / "benchmarks" / "configs" / "ofa_cifar10_cpu.yaml"




def summary(results: dict[str, Any], space: Any, wall: float) -> dict[str, Any]:
    best = results["best"]
    genotype = space.from_json(best["genotype"])
    flops, params = space.complexity(genotype)
    out = {
        "subnet": best["description"],
        "genotype": best["genotype"],
        "flops_mmacs": flops,
        "budget_mmacs": results["budget"],
        "flops_over_budget": flops / results["budget"],
        "feasible": best["feasible"],
        "params_m": params,
        "rmi": best["rmi"],
        "fitness": best["fitness"],
        "space_min_mmacs": space.min_complexity()[0],
        "space_max_mmacs": space.complexity(space.max_genotype())[0],
        "evaluations": results["evaluations"],
        "unique_evaluations": results["unique_evaluations"],
        "wall_seconds": wall,
    }
    if "best_feasible" in results:
        bf = results["best_feasible"]
        out["best_feasible"] = {"subnet": bf["description"], "flops_mmacs": bf["cost"], "rmi": bf["rmi"]}
    return out


def write_markdown(path: Path, s: dict[str, Any], generations: list[dict[str, Any]]) -> None:
    lines = [
        "# OFA MobileNetV3 search on CIFAR-10 (CPU size)\n",
        f"Found subnet `{s['subnet']}`: **{s['flops_mmacs']:.3f} MMACs vs budget {s['budget_mmacs']:g} MMACs** "
        f"({'feasible' if s['feasible'] else 'over budget'}), {s['params_m']:.3f} M params, RMI {s['rmi']:.4f}.",
        f"Space range at 32x32: {s['space_min_mmacs']:.3f}-{s['space_max_mmacs']:.3f} MMACs. "
        f"{s['evaluations']} evaluations ({s['unique_evaluations']} trained), {s['wall_seconds']:.0f} s wall.\n",
    ]
    if "best_feasible" in s:
        bf = s["best_feasible"]
        lines.append(f"Best feasible seen: `{bf['subnet']}` {bf['flops_mmacs']:.3f} MMACs, RMI {bf['rmi']:.4f}.\n")
    lines += ["## Per generation\n", md_table(generations, "{:.4f}")]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=("small",), default="small", help="one size (CPU): the config's settings")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: spinning threads slow a shared CPU)")
    p.add_argument("--out", default=str(RESULTS / "ofa_cifar10_search"))
    args, overrides = p.parse_known_args(argv)
    require_shared()
    set_torch_threads(args.threads)
    from lightning_nas.config import parse_config
    from lightning_nas.search.engine import Search

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="ofa_cifar10_search_")) / "run"
    cfg_argv = [
        "--config", str(CONFIG),
        "--data.root", str(cifar_root()),
        "--reference.checkpoint", str(REFERENCE),
        "--run_dir", str(run_dir),
        *overrides,
    ]  # fmt: skip
    cfg, _ = parse_config(cfg_argv)
    from lightning_nas.callbacks.progress import ConsoleProgress

    start = time.perf_counter()
    search = Search(cfg, callbacks=[ConsoleProgress()])
    results = search.run()
    s = summary(results, search.space, time.perf_counter() - start)
    gens = [{k: r[k] for k in ("gen", "max", "mean", "min", "draws") if k in r} for r in results["logbook"]]
    import json

    (out / "summary.json").write_text(json.dumps(s, indent=2) + "\n")
    for name in ("evaluations.csv", "results.json", "setup.json"):
        shutil.copy(run_dir / name, out / name)
    write_markdown(out / "summary.md", s, gens)
    write_provenance(out, argv, cfg.to_dict())
    print(f"found {s['subnet']}: {s['flops_mmacs']:.3f} MMACs vs budget {s['budget_mmacs']:g} MMACs "
          f"({'feasible' if s['feasible'] else 'OVER budget'}), RMI {s['rmi']:.4f}, {s['wall_seconds']:.0f} s; see {out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
