"""Searches configured from a table of scores' provenance and served by it (`--proxy.table`): the argv a
search on a table starts from (its settings as a config file, the paper's GA section), and one such
search run in this process. Used by search_quality.py, rmi_table_cross_machine.py and the tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from _common import CIFAR_DIR, HW_TABLE, REPO, SHARED, cifar_root

PAPER_CONFIG = REPO / "configs" / "nb201_cifar10.yaml"


def reference_checkpoint(recorded: dict[str, Any], table: Path) -> str | None:
    """The checkpoint file with the sha256 the table's reference was loaded from: the recorded path, else one of
    ../shared/data/reference/*; None for a reference trained by the run (its settings come from --search_args)."""
    from lightning_nas.tables.rmi_table import sha256_file

    sha = recorded.get("checkpoint_sha256")
    if not sha:
        return None
    candidates = [Path(recorded["checkpoint"])] if recorded.get("checkpoint") else []
    candidates += sorted((SHARED / "reference").glob("*")) if (SHARED / "reference").is_dir() else []
    for path in candidates:
        if path.is_file() and sha256_file(path) == sha:
            return str(path)
    raise SystemExit(f"error: no reference checkpoint with sha256 {sha} (the reference of {table}) at "
                     f"{recorded.get('checkpoint')} or in {SHARED / 'reference'}; pass --search_args --reference.checkpoint FILE")  # fmt: skip


def table_base(table: Path, out: Path, search_args: list[str], serve: bool = True) -> list[str]:
    """The argv every search on `table` starts from: a config file written from the table's provenance (its
    `config`: proxy, probe, data, space, seed; the reference's arch, taps, BN mode and checkpoint) with the
    paper's GA section (configs/nb201_cifar10.yaml), then `--proxy.table PATH` (unless not `serve`: the
    table's settings, to compute scores under them) and `search_args`."""
    import yaml

    from lightning_nas.tables.rmi_table import provenance_path

    prov_file = provenance_path(table)
    if not prov_file.is_file():
        raise SystemExit(f"error: {prov_file} not found (a table of scores and its provenance belong together)")
    prov = json.loads(prov_file.read_text())
    conf = prov.get("config")
    if not conf:
        raise SystemExit(f"error: {prov_file} has no `config` (the settings the scores were computed under); re-export the table")
    reference = {k: v for k, v in (prov.get("parts", {}).get("reference") or {}).items() if k in ("arch", "taps", "bn_mode")}
    checkpoint = reference_checkpoint(prov.get("reference") or {}, table)
    if checkpoint:
        reference["checkpoint"] = checkpoint
    data = dict(conf["data"])
    if data.get("name") == "imagefolder" and data.get("root") and Path(data["root"]) == CIFAR_DIR:
        cifar_root()  # the CIFAR-10 JPEGs the benchmarks use, unpacked once from ../shared
    search = yaml.safe_load(PAPER_CONFIG.read_text())["search"]
    doc = {"name": "search-quality-table", "seed": conf["seed"], "data": data, "reference": reference, "probe": conf["probe"],
           "space": conf["space"], "proxy": conf["proxy"], "cost": {"table": str(HW_TABLE), "dataset": "cifar10"},
           "search": search}  # fmt: skip
    path = out / "table_search.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return ["--config", str(path), *(["--proxy.table", str(table)] if serve else []), *search_args]


def table_search(base: list[str], seed: int, metric: str, budget: float, population: int, generations: int, handling: str) -> tuple[Any, dict[str, Any]]:
    """One search served by the table (in this process, no callbacks); its run folder is removed after, its
    evaluated rows kept in `results["bench_rows"]`."""
    import _search_runner
    from _scoring import SCORERS

    from lightning_nas.config import parse_config
    from lightning_nas.search.engine import Search

    name = f"{metric}-{budget:.6g}-{seed}-{handling}"
    cfg, _ = parse_config([*base, "--cost.metric", metric, "--cost.budget", repr(float(budget)),
                           "--search.population", str(population), "--search.generations", str(generations),
                           "--search.constraint_handling", handling, "--search.seed", str(seed),
                           "--search.checkpoint_every", "0",  # rewriting every record each generation: 2/3 of the time
                           "--runs_root", str(_search_runner._RUNS),
                           "--tb_logs", str(_search_runner._RUNS / "tb"), "--name", name])  # fmt: skip
    results = Search(cfg, callbacks=[], scorer=SCORERS).run()
    run_dir = Path(results["run_dir"])
    entries = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    results["bench_trained"] = max(sum(bool(e.get("trained")) for e in entries), int(results.get("trained") or 0))
    results["bench_persistent_hits"] = sum(bool(e.get("persistent_hit")) for e in entries)
    results["bench_rows"] = json.loads((run_dir / "checkpoint.json").read_text())["rows"]  # what the search scored (refine)
    shutil.rmtree(run_dir, ignore_errors=True)
    return tuple(int(x) for x in results["best"]["genotype"]), results


