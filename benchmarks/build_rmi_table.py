"""Build a full-space table of RMI scores for NAS-Bench-201 ("RMI-Bench-201") in shards.

Isomorphic cells compute the same function, so only one cell per class is scored: the smallest NB201
index of each of the 6,466 classes of NAS-Bench-201's own definition
(`lightning_nas.spaces.nb201.isomorphism`). The representatives, in index order, are cut into shards of
`--shard_size`; each shard is scored through the persistent cache (resumable: a rerun skips what is
cached) and exported as its own table, `benchmarks/tables/shards/rmi_nb201_<profile>.part-<k>.csv.gz` with
its provenance `.json`. A shard is meant to take at most an hour, to be committed when it finishes, so an
interrupted build loses nothing and can continue on another machine (the cache does not travel, the
shards do). `--merge` joins the shards into `benchmarks/tables/rmi_nb201_<profile>.csv.gz`: one row per
architecture (all 15,625 once every shard exists), each with its class representative's score and
`scored_as` (that representative's index); the provenance lists each shard, how long it took and on
which CPU. Shards join when their settings identities match (`lightning_nas.tables.score_match`), so a
build continues on another machine; shards of other settings are refused.

    python benchmarks/build_rmi_table.py --profile small --shard 0          # score and export shard 0
    python benchmarks/build_rmi_table.py --profile small --shard next --max_shards 3   # the next 3 missing
    python benchmarks/build_rmi_table.py --profile small --merge            # the shards -> the table
    python benchmarks/build_rmi_table.py --profile small --shard 0 --search.backend local --search.workers 2

Profiles: `small` (the wave-1 small profile: CIFAR-10 JPEGs, the shared ResNet-20, C8/N1 proxy network,
100 steps; ~5 s per arch on one core), `fast` (the fidelity study's choice: C8/N1, 10 steps at lr 0.01,
16x16 inputs, probe batch 64; ~0.5 s per arch), `paper` (HW-EvRSNAS as published: the full C16/N5 network,
32x32 inputs, probe 32 of 512, 100 steps at lr 0.1; ~55 s per arch on one CPU core: meant for a GPU,
`--proxy.accelerator gpu --proxy.candidates_per_gpu 8 --search.backend local`) and `tiny` (digits, C4/N1,
3 steps: for tests).

Order: `--order FILE` scores the classes in the order of FILE (one NB201 index per line, each standing for
its class; the classes it leaves out follow in index order), e.g. `benchmarks/tables/priority_nb201.txt`
(the competitive set of issue 26, then the fidelity sample: written by `proxy_fidelity.py --write_priority`);
shard k is then the k-th block of that order. `--time_cap_s S` starts no shard that would end after S
seconds (judged by the slowest shard so far): a capped build stops between shards, everything it built
exported. The last line is `shards=<built>/<total> rows=<n> seconds=<s>`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, base_overrides

TABLES = REPO / "benchmarks" / "tables"
N_CLASSES_NB201 = 6466
PROFILES: dict[str, list[str]] = {
    "small": [],  # base_overrides: benchmarks/configs/nb201_cifar10_small.yaml
    # the fidelity study's fast profile (benchmarks/results/proxy_fidelity: setting lr0.01), on the small config
    "fast": [
        "--space.C", "8", "--space.N", "1", "--proxy.steps", "10", "--proxy.lr", "0.01", "--data.resolution", "16",
        "--space.full_resolution", "32", "--probe.batch_size", "64", "--proxy.score_bn_mode", "train",
    ],
    # HW-EvRSNAS's own setting (issue 26): probe pool 512 / batch 32 and beta 0.8 are the small config's defaults
    "paper": [
        "--space.C", "16", "--space.N", "5", "--proxy.steps", "100", "--proxy.lr", "0.1", "--data.resolution", "32",
        "--space.full_resolution", "32", "--probe.batch_size", "32", "--proxy.score_bn_mode", "train",
    ],
    "tiny": [
        "--data.name", "digits", "--data.resolution", "16", "--reference.train_epochs", "1",
        "--probe.pool", "64", "--probe.batch_size", "16", "--space.C", "4", "--space.N", "1", "--proxy.steps", "3",
        "--cost.metric", "flops", "--cost.budget", "12",
    ],
}  # fmt: skip


def profile_argv(profile: str, cache: str | None, extra: list[str]) -> list[str]:
    """The config overrides of a profile: `tiny` stands alone, the others change the small benchmark config."""
    if profile == "tiny":
        return [*PROFILES[profile], *(["--cache.path", cache] if cache else []), *extra]
    return base_overrides(0, cache, [*PROFILES[profile], *extra])


def representatives() -> list[int]:
    """The smallest NB201 index of each isomorphism class, ascending."""
    from lightning_nas.spaces.nb201.isomorphism import representatives as reps

    return sorted(reps("nb201").values())


def ordered(reps: list[int], order_file: str | None) -> list[int]:
    """The representatives in the order of `order_file` (each index stands for its class; the classes it
    leaves out follow in index order), or as they are without one."""
    if not order_file:
        return reps
    from lightning_nas.spaces.nb201.isomorphism import classes
    from lightning_nas.spaces.nb201.space import NB201Space

    rep_of = {i: members[0] for members in classes(NB201Space(), "nb201").values() for i in members}
    try:
        wanted = [int(line.split("#", 1)[0]) for line in Path(order_file).read_text().splitlines() if line.split("#", 1)[0].strip()]
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: --order {order_file}: needs one NB201 index per line ({err})") from None
    bad = [i for i in wanted if i not in rep_of]
    if bad:
        raise SystemExit(f"error: --order {order_file}: {bad[0]} is not an NB201 index (0..15624)")
    first = list(dict.fromkeys(rep_of[i] for i in wanted))
    return first + sorted(set(reps) - set(first))


def shard_path(tables: Path, profile: str, k: int) -> Path:
    return tables / "shards" / f"rmi_nb201_{profile}.part-{k:03d}.csv.gz"


def shard_count(n: int, size: int) -> int:
    return -(-n // size)


def genotypes_of(indices: list[int]) -> list[Any]:
    from lightning_nas.spaces.nb201.space import NB201Space

    space = NB201Space()
    by_index = {space.benchmark_fields(g)["nb201_index"]: g for g in space.enumerate()}
    return [by_index[i] for i in indices]


def build_shard(argv: list[str], tables: Path, profile: str, k: int, indices: list[int], order: str | None = None) -> dict[str, Any]:
    """Score shard k's representatives through the persistent cache and export them as a shard table."""
    from lightning_nas.backends import build_backend
    from lightning_nas.config import apply_threads, parse_config
    from lightning_nas.pipeline import build_problem, build_scorer
    from lightning_nas.rmi.cache import open_run_cache
    from lightning_nas.rmi.precompute import export_table, precompute

    cfg, _ = parse_config(argv)
    apply_threads(cfg)
    problem = build_problem(cfg, check_budgets=False)
    genotypes = genotypes_of(indices)
    began = time.perf_counter()
    backend = build_backend(cfg)
    try:
        scorer = build_scorer(problem)
        backend.start(scorer.evaluator)
        cache = open_run_cache(cfg, scorer, problem.space, required=True)
        assert cache is not None
        counts = precompute(cache, backend, [problem.space.key(g) for g in genotypes], genotypes)
    finally:
        backend.close()
    path = shard_path(tables, profile, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"shard": k, "indices": [indices[0], indices[-1]], "wall_seconds": round(time.perf_counter() - began, 1), "counts": counts}
    if order:  # shard k is a block of this order: which file, and its content
        import hashlib

        extra["order"] = {"file": Path(order).name, "sha256": hashlib.sha256(Path(order).read_bytes()).hexdigest()}
    return export_table(path, cfg, scorer, cache, problem.space, genotypes, extra)


def merge(tables: Path, profile: str, shards: int) -> dict[str, Any]:
    """Join the shards that exist into the profile's table (every arch of their classes)."""
    from lightning_nas.errors import ConfigError
    from lightning_nas.machine import describe
    from lightning_nas.spaces.nb201.isomorphism import classes
    from lightning_nas.spaces.nb201.space import NB201Space
    from lightning_nas.tables.rmi_table import read_table, write_table
    from lightning_nas.tables.score_match import recorded_numeric

    found = [read_table(p) for k in range(shards) if (p := shard_path(tables, profile, k)).exists()]
    if not found:
        raise ConfigError(f"no shard of profile {profile!r} in {tables / 'shards'}")
    check_shards_agree(profile, found)
    space = NB201Space()
    scored: dict[int, Any] = {}
    for table in found:
        for key, result in table.scores.items():
            scored[space.benchmark_fields(space.parse(key))["nb201_index"]] = result
    entries = []  # (NB201 index, score, its representative), every member of each scored class
    for members in classes(space, "nb201").values():
        rep = members[0]
        if rep in scored:
            result = scored[rep]
            entries += [
                (index, type(result)(rmi=result.rmi, cka=result.cka, losses={}, seconds=result.seconds if index == rep else 0.0), rep)
                for index in members
            ]
    entries.sort(key=lambda e: e[0])
    first = found[0].provenance
    extra = {
        **{k: first[k] for k in ("reference", "config", "versions") if k in first},
        "isomorphism": "nb201 (NAS-Bench-201's to_unique_str; lightning_nas.spaces.nb201.isomorphism)",
        "classes_scored": len(scored),
        "shards": [{"shard": t.provenance.get("shard"), "rows": t.provenance["rows"], "wall_seconds": t.provenance.get("wall_seconds"),
                    "machine_cpus": t.provenance.get("versions", {}).get("cpus"), "created": t.provenance.get("created"),
                    "score_hash": t.provenance["score_hash"], "cpu": describe(recorded_numeric(t.provenance))} for t in found],
    }  # fmt: skip
    if "numeric" in first:  # the first shard's machine; `shards` names each shard's (their score hashes may differ)
        extra["numeric"] = first["numeric"]
    path = tables / f"rmi_nb201_{profile}.csv.gz"
    return write_table(
        path, space, genotypes_of([e[0] for e in entries]), [e[1] for e in entries], first["parts"], extra,
        [{"scored_as": e[2]} for e in entries], settings=first.get("settings"),
    )  # fmt: skip


def check_shards_agree(profile: str, found: list[Any]) -> None:
    """Shards join when their settings identities match (the fields an older shard does not record are not
    compared); their exact score hashes may differ: shards built on other machines join, each naming its CPU."""
    from lightning_nas.errors import ConfigError, first_of
    from lightning_nas.tables.score_match import recorded_settings, settings_differences

    first, skip = recorded_settings(found[0].provenance)
    for table in found[1:]:
        settings, not_recorded = recorded_settings(table.provenance)
        diff = settings_differences(first, settings, [*skip, *not_recorded])
        if diff:
            raise ConfigError(
                f"the shards of {profile!r} were computed under different settings: {table.path.name} differs from "
                f"{found[0].path.name} in {first_of(diff, 4)}"
            )


def write_record(out: Path, argv: list[str], table: Path, prov: dict[str, Any]) -> None:
    """The merged table's build, as a benchmark result: rows, classes, the shards' wall times, seconds per arch."""
    import hashlib

    from _common import write_provenance

    out.mkdir(parents=True, exist_ok=True)
    shards = prov["shards"]
    summary = {
        "table": str(table.relative_to(REPO)) if table.is_relative_to(REPO) else str(table),
        "table_sha256": hashlib.sha256(table.read_bytes()).hexdigest(), "rows": prov["rows"], "complete": prov["complete"],
        "classes_scored": prov["classes_scored"], "score_hash": prov["score_hash"], "shards": shards,
        "shard_wall_seconds_total": round(sum(s["wall_seconds"] or 0.0 for s in shards), 1),
        "shard_wall_seconds_max": max(s["wall_seconds"] or 0.0 for s in shards), "seconds_per_arch": prov.get("seconds_per_arch"),
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "README.md").write_text(
        f"# {table.name}\n\n{summary['rows']} rows ({summary['classes_scored']} isomorphism classes scored, complete: "
        f"{summary['complete']}), score hash {summary['score_hash']}. {len(shards)} shards, "
        f"{summary['shard_wall_seconds_total']} s of shard builds in all (the longest {summary['shard_wall_seconds_max']} s); "
        f"seconds per arch (one candidate, as trained): {summary['seconds_per_arch']}.\n"
    )
    write_provenance(out, argv, {"table": summary["table"], "provenance": str(provenance_of(table))})


def provenance_of(table: Path) -> Path:
    from lightning_nas.tables.rmi_table import provenance_path

    return provenance_path(table)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=tuple(PROFILES), required=True)
    p.add_argument("--shard", default=None, help="a shard number, or `next` (the first shard not built yet)")
    p.add_argument("--max_shards", type=int, default=1, help="with --shard next: build this many")
    p.add_argument("--shard_size", type=int, default=500, help="representatives per shard (~40 min at 5 s/arch on 2 workers)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N representatives (a partial table)")
    p.add_argument("--merge", action="store_true", help="join the shards into the table")
    p.add_argument("--tables", default=str(TABLES), help="where shards and the table go")
    p.add_argument("--cache", default=None, help="the persistent score cache (default: the config's)")
    p.add_argument("--record", default=None, help="with --merge: write the build's record (summary.json, README.md, command.txt) here")
    p.add_argument("--order", default=None, help="score the classes in this file's order (one NB201 index per line)")
    p.add_argument("--time_cap_s", type=float, default=None, help="start no shard that would end after this many seconds")
    a, rest = p.parse_known_args(argv)  # the rest are config overrides (--search.backend local, --threads 1, ...)
    tables = Path(a.tables)
    reps = ordered(representatives(), a.order)[: a.limit]
    total = shard_count(len(reps), a.shard_size)
    todo: list[int] = []
    if a.shard == "next":
        todo = [k for k in range(total) if not shard_path(tables, a.profile, k).exists()][: a.max_shards]
    elif a.shard is not None:
        k = int(a.shard)
        if not 0 <= k < total:
            raise SystemExit(f"error: --shard {k} out of range; valid: 0..{total - 1} (or next)")
        todo = [k]
    seconds, slowest, began = 0.0, 0.0, time.perf_counter()
    for k in todo:
        if a.time_cap_s is not None and time.perf_counter() - began + slowest > a.time_cap_s:
            print(f"time cap: {a.time_cap_s:g} s reached before shard {k} (the slowest shard took {slowest:.0f} s)", flush=True)
            break
        prov = build_shard(profile_argv(a.profile, a.cache, rest), tables, a.profile, k, reps[k * a.shard_size : (k + 1) * a.shard_size], a.order)
        seconds += prov["wall_seconds"]
        slowest = max(slowest, prov["wall_seconds"])
        print(f"shard {k}: {prov['rows']} archs, {prov['wall_seconds']} s, score hash {prov['score_hash']}", flush=True)
    rows = 0
    if a.merge:
        prov = merge(tables, a.profile, total)
        rows = prov["rows"]
        print(json.dumps({k: prov[k] for k in ("rows", "space_size", "complete", "classes_scored", "score_hash")}))
        print(f"coverage: {prov['classes_scored']} of {N_CLASSES_NB201} classes ({100 * prov['classes_scored'] / N_CLASSES_NB201:.1f} %), "
              f"{prov['rows']} of {prov['space_size']} archs; seconds per arch: {prov.get('seconds_per_arch')}")  # fmt: skip
        if a.record:
            write_record(Path(a.record), argv, tables / f"rmi_nb201_{a.profile}.csv.gz", prov)
    built = sum(shard_path(tables, a.profile, k).exists() for k in range(total))
    print(f"shards={built}/{total} rows={rows} seconds={seconds:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
