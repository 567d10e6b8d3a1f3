"""Latency look-up tables on this machine (issue "own-device latency"): build, validate, price, search.

For each table: `python -m lightning_nas.latency build` (its build seconds), then `validate` against the
end-to-end median latency of `--n` random architectures (seed 0) timed with the table's settings
(Spearman, Kendall, MAPE, share within +-10 %), per resolution for OFA; then `calibrate` on 20 other
architectures (seed 1) and the same metrics for the calibrated prediction on the seed-0 timings. A
finished table and a stored validation are kept when the script runs again. Then the cost of pricing: every
one of NB201's 15,625 architectures priced through the `local_latency` cost model (median / max
microseconds), and a small search on CIFAR-10 against the batch-64 NB201 table with the winner timed end
to end afterwards.

    python benchmarks/latency_lut.py --profile full --threads 1     # NB201 C16/N5 batch 1 and 64; OFA 224 and 160
    python benchmarks/latency_lut.py --profile tiny --out /tmp/x     # seconds: for the test

Goals: Spearman >= 0.95 and MAPE <= 10 % at batch 64; pricing <= 1 ms per genotype (median, 99th
percentile and maximum over the 15,625 are stored; the maximum catches the machine's scheduling hiccups). The last line is
`nb201_b64_spearman=<x> nb201_b64_mape_pct=<y> nb201_b64_calibrated_mape_pct=<c> price_us_p99=<z>`."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REFERENCE, RESULTS, cifar_root, md_table, require_shared, write_csv, write_provenance

REPO = Path(__file__).resolve().parents[1]
PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "tables": [
            {"name": "nb201_b1", "build": ["--space", "nb201", "--batch", "1"], "e2e": []},
            {"name": "nb201_b64", "build": ["--space", "nb201", "--batch", "64"], "e2e": ["--min_runs", "10"]},
            {"name": "ofa_b1", "build": ["--space", "ofa_mbv3", "--resolution", "224", "--resolution", "160", "--batch", "1"],
             "e2e": ["--min_runs", "20"], "folder": True},
        ],
        "n": 200, "calibrate_n": 20, "timing": [], "search": {"population": 6, "generations": 3},
    },
    "tiny": {
        "tables": [
            {"name": "nb201_b1", "build": ["--space", "nb201", "--batch", "1", "--resolution", "8", "--C", "4", "--N", "1"], "e2e": []},
            {"name": "nb201_b64", "build": ["--space", "nb201", "--batch", "4", "--resolution", "8", "--C", "4", "--N", "1"], "e2e": []},
        ],
        "n": 4, "calibrate_n": 2, "timing": ["--min_runs", "3", "--max_seconds", "0.05"], "search": None,
    },
}  # fmt: skip


def latency_cli(*argv: str) -> tuple[float, str]:
    """Run `python -m lightning_nas.latency ARGV`; (seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lightning_nas.latency", *argv], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: latency {argv[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start, done.stdout


def per_resolution(validation_csv: Path, scale: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """Metrics per resolution of the operator sum times `scale` (1: uncalibrated) against the measured."""
    import numpy as np

    from lightning_nas.latency.validate import metrics

    with open(validation_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in sorted({int(row["resolution"]) for row in rows}):
        sub = [row for row in rows if int(row["resolution"]) == r]
        raw = "operator_sum_ms" if "operator_sum_ms" in sub[0] else "predicted_ms"  # stored before calibration existed
        pred = (scale or {}).get(r, 1.0) * np.array([float(row[raw]) for row in sub])
        meas = np.array([float(row["measured_ms"]) for row in sub])
        out.append({"resolution": r, "n": len(sub), **metrics(pred, meas), "median_measured_ms": float(np.median(meas))})
    return out


def one_table(spec: dict[str, Any], out: Path, prof: dict[str, Any], threads: int) -> list[dict[str, Any]]:
    """Build (resumable: a finished table is kept), validate uncalibrated on seed 0 (kept when stored), then
    calibrate on seed 1 and score the calibrated prediction on the same seed-0 end-to-end timings."""
    from lightning_nas.latency.lut import LatencyLUT

    table = out / (spec["name"] if spec.get("folder") else f"{spec['name']}.yaml")
    latency_cli("build", *spec["build"], "--threads", str(threads), *prof["timing"], "--out", str(table))
    val = out / f"{spec['name']}_validation"
    if not (val / "validation.json").exists():
        _, stdout = latency_cli("validate", "--lut", str(table), "--n", str(prof["n"]), "--seed", "0", "--out", str(val), *spec["e2e"])
        print(stdout.strip().splitlines()[-1])
    calibrate_s, stdout = latency_cli("calibrate", "--lut", str(table), "--n", str(prof["calibrate_n"]), "--seed", "1", *spec["e2e"])
    print(stdout.strip())
    lut = LatencyLUT.load(table)
    result = json.loads((val / "validation.json").read_text())
    rows = []
    calibrated = per_resolution(val / "validation.csv", {res: lut.scale(res) for res in lut.tables})
    for r, c in zip(per_resolution(val / "validation.csv"), calibrated, strict=True):
        meta = lut.metas[r["resolution"]]
        rows.append({"table": spec["name"], "batch": meta["batch"], "prediction": "operator sum", **r,
                     "build_seconds": meta["build_seconds"], "median_price_us": result["median_price_us"]})  # fmt: skip
        rows.append({"table": spec["name"], "batch": meta["batch"], "prediction": f"calibrated x{lut.scale(r['resolution']):.4f}", **c,
                     "build_seconds": meta["build_seconds"], "calibrate_seconds_all_resolutions": calibrate_s,
                     "median_price_us": result["median_price_us"]})  # fmt: skip
    return rows


def pricing(table: Path) -> dict[str, float]:
    """Microseconds to price each of NB201's 15,625 genotypes through the local_latency cost model."""
    import itertools

    import numpy as np

    from lightning_nas.config import ConstraintConfig
    from lightning_nas.costs import build_cost_model
    from lightning_nas.latency.lut import LatencyLUT
    from lightning_nas.spaces.nb201.space import NB201Space

    meta = next(iter(LatencyLUT.load(table).metas.values()))
    space = NB201Space(num_classes=meta["shape"]["num_classes"], resolution=meta["resolution"], full_C=meta["shape"]["C"], full_N=meta["shape"]["N"])
    model = build_cost_model(ConstraintConfig(metric="local_latency", budget=1.0, table=str(table)), space, "cifar10", meta["resolution"])
    times = []
    for g in itertools.product(range(5), repeat=6):
        t0 = time.perf_counter()
        model.cost(g)
        times.append((time.perf_counter() - t0) * 1e6)
    return {"genotypes": len(times), "median_price_us": float(np.median(times)), "p99_price_us": float(np.percentile(times, 99)),
            "max_price_us": float(np.max(times))}  # fmt: skip


def search(table: Path, out: Path, prof: dict[str, Any], threads: int) -> dict[str, Any]:
    """A small CIFAR-10 search against the table (budget: the median predicted latency of the validation
    sample); the winner is then timed end to end with the table's settings."""
    import numpy as np

    from lightning_nas.latency.lut import LatencyLUT
    from lightning_nas.latency.validate import space_of, time_network
    from lightning_nas.search.cli import main as search_main

    lut = LatencyLUT.load(table)
    with open(out / "nb201_b64_validation" / "validation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    raw = "operator_sum_ms" if "operator_sum_ms" in rows[0] else "predicted_ms"
    budget = float(np.median([lut.scale(32) * float(r[raw]) for r in rows]))  # the median prediction as the table now predicts
    run = out / "search_run"
    shutil.rmtree(run, ignore_errors=True)
    argv = ["--config", str(REPO / "benchmarks" / "configs" / "nb201_cifar10_small.yaml"), "--data.root", str(cifar_root()),
            "--reference.checkpoint", str(REFERENCE), "--cost.metric", "local_latency", "--cost.table", str(table),
            "--cost.budget", f"{budget:.4f}", "--search.population", str(prof["population"]), "--search.generations",
            str(prof["generations"]), "--threads", str(threads), "--run_dir", str(run), "--tb_logs", tempfile.mkdtemp(prefix="lnas-lut-tb-"),
            "--cache.enabled", "false"]  # fmt: skip
    assert search_main(argv) == 0
    results = json.loads((run / "results.json").read_text())
    space = space_of(lut)
    meta = next(iter(lut.metas.values()))
    winner = space.from_json(results["best"]["genotype"])
    measured = time_network(space, winner, meta, {**meta["timing"], "min_runs": 10})
    return {"budget_ms": budget, "winner": results["best"]["description"], "rmi": results["best"]["rmi"],
            "predicted_ms": results["best"]["cost"], "measured_ms": measured, "feasible_by_table": results["best"]["feasible"],
            "within_budget_measured": measured <= budget, "evaluations": results["evaluations"], "wall_seconds": results["wall_seconds"],
            "command": "python -m lightning_nas.search " + " ".join(argv)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="full")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--out", default=None, help="default benchmarks/results/latency_lut_<device>")
    args = p.parse_args(argv)
    prof = PROFILES[args.profile]
    out = Path(args.out) if args.out else RESULTS / f"latency_lut_{args.device}"
    out.mkdir(parents=True, exist_ok=True)
    write_provenance(out, sys.argv[1:] if argv is None else argv, {"profile": args.profile, **prof, "threads": args.threads, "device": args.device})
    rows = [row for spec in prof["tables"] for row in one_table({**spec, "build": [*spec["build"], "--device", args.device]}, out, prof, args.threads)]
    write_csv(out / "summary.csv", rows)
    price = pricing(out / "nb201_b64.yaml")
    (out / "pricing.json").write_text(json.dumps(price, indent=2) + "\n")
    lines = ["# Latency look-up tables on this machine", "", md_table(rows, "{:.4g}"), "", f"Pricing: {json.dumps(price)}", ""]
    if prof["search"]:
        require_shared()
        found = search(out / "nb201_b64.yaml", out, prof["search"], args.threads)
        (out / "search.json").write_text(json.dumps(found, indent=2) + "\n")
        lines += ["Search against the batch-64 NB201 table:", "", md_table([{k: v for k, v in found.items() if k != "command"}], "{:.4g}")]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    b64 = [r for r in rows if r["table"] == "nb201_b64"]
    print(f"nb201_b64_spearman={b64[0]['spearman']:.4f} nb201_b64_mape_pct={b64[0]['mape_pct']:.2f} "
          f"nb201_b64_calibrated_mape_pct={b64[1]['mape_pct']:.2f} price_us_p99={price['p99_price_us']:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
