#!/usr/bin/env bash
# Regenerate every stored benchmark result of one profile under benchmarks/results/, in one command:
#
#     benchmarks/reproduce.sh --profile small     # every small-profile result (default)
#     benchmarks/reproduce.sh --profile medium    # the two C16/N2 results (*_medium/)
#     benchmarks/reproduce.sh --profile table     # issue 12: the proxy fidelity study, the fast NB201 table
#                                                 # (shards + merge) and the paper's GA on it
#     benchmarks/reproduce.sh --profile small --dry-run   # print the commands only
#
# Each line below is exactly the command stored in that result's command.txt ("python" = $PYTHON), so a
# rerun rewrites the same folders with the same settings (tests/test_readme_numbers.py checks that the two
# agree). Wall times, cache counters and versions change from run to run; the RMI scores do not for the same
# thread count, accelerator and torch version. Afterwards, update the numbers quoted in README.md and
# benchmarks/README.md from the new files (the same test fails on a quoted number no stored file holds).
#
# Needs ../shared/data (see benchmarks/README.md) for everything but quickstart.py and bench_overhead.py.
# Time on a 2-core CPU (threads 1): small ~2 h with an empty score cache (~1 h once the cache holds the
# proxy scores: the searches and proxy_quality are then look-ups), medium ~30 min, table ~1.5 h.
set -euo pipefail

profile=small
dry_run=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="${2:?--profile needs small, medium or table}"; shift 2 ;;
        --profile=*) profile="${1#--profile=}"; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1' (valid: --profile small|medium|table, --dry-run)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python)}"

# the table's shards: committed under benchmarks/tables (a table, not a results folder with a command.txt)
shards() { run "$@"; }

run() {
    echo "+ python $*" >&2
    [[ $dry_run == 1 ]] && return 0
    local start=$SECONDS
    "$PYTHON" "$@"
    echo "  ($((SECONDS - start)) s)" >&2
}

case "$profile" in
    small)
        run benchmarks/quickstart.py --profile small --threads 1
        run benchmarks/quickstart.py --profile small --threads 1 --backend serial --out benchmarks/results/quickstart_serial
        run benchmarks/bench_overhead.py --profile small --threads 1
        run benchmarks/bench_scaling.py
        run benchmarks/fault_injection.py
        run benchmarks/proxy_quality.py --profile small --threads 1
        run benchmarks/search_quality.py --profile small --threads 1
        run benchmarks/search_quality.py --profile small --population 10 --generations 6 --no_flops --threads 1 --out benchmarks/results/search_quality_pop10_gen6
        run benchmarks/op_distribution.py --profile small --threads 1
        run benchmarks/pareto_vs_single.py --profile small --threads 1
        run benchmarks/latency_lut.py --profile full --threads 1
        run benchmarks/penalty_vs_rejection.py
        run benchmarks/ofa_cifar10_search.py
        run benchmarks/finetune_cifar10.py --profile small
        run benchmarks/tensorboard_screenshots.py
        run benchmarks/install_check.py --before ea5e060
        ;;
    medium)
        run benchmarks/proxy_quality.py --profile medium --out benchmarks/results/proxy_quality_medium
        run benchmarks/search_quality.py --profile medium --no_flops --out benchmarks/results/search_quality_medium
        ;;
    table)
        run benchmarks/proxy_fidelity.py --workers 2 --threads 1 --quiet
        shards benchmarks/build_rmi_table.py --profile fast --shard next --max_shards 13 --search.backend local --search.workers 2 --threads 1
        run benchmarks/build_rmi_table.py --profile fast --merge --record benchmarks/results/rmi_table_fast
        run benchmarks/proxy_optimum.py --table benchmarks/tables/rmi_nb201_fast.csv.gz
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --synflow all --exclude_archs benchmarks/results/proxy_fidelity/archs.csv --threads 1 --out benchmarks/results/search_quality_table
        # search.capacity_weight: w chosen on GA seeds 100-109 (latency penalty runs), reported on seeds 0-9
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 0 --seeds 100 101 102 103 104 105 106 107 108 109 --no_rejection --no_flops --energy --synflow skip --threads 1 --out benchmarks/results/search_quality_table_choose_w0
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 0.3 --seeds 100 101 102 103 104 105 106 107 108 109 --no_rejection --no_flops --energy --synflow skip --threads 1 --out benchmarks/results/search_quality_table_choose_w0.3
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 0.5 --seeds 100 101 102 103 104 105 106 107 108 109 --no_rejection --no_flops --energy --synflow skip --threads 1 --out benchmarks/results/search_quality_table_choose_w0.5
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 1 --seeds 100 101 102 103 104 105 106 107 108 109 --no_rejection --no_flops --energy --synflow skip --threads 1 --out benchmarks/results/search_quality_table_choose_w1
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 2 --seeds 100 101 102 103 104 105 106 107 108 109 --no_rejection --no_flops --energy --synflow skip --threads 1 --out benchmarks/results/search_quality_table_choose_w2
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 0.3 --synflow skip --exclude_archs benchmarks/results/proxy_fidelity/archs.csv --threads 1 --out benchmarks/results/search_quality_table_cap0.3
        run benchmarks/search_quality.py --profile table --table benchmarks/tables/rmi_nb201_fast.csv.gz --capacity_weight 1 --synflow skip --exclude_archs benchmarks/results/proxy_fidelity/archs.csv --threads 1 --out benchmarks/results/search_quality_table_cap1
        # the refine stage at the paper's GA size (issue 25): short list chosen on the energy settings, reported on the latency ones
        run benchmarks/refine_fig2.py --threads 1
        # the paper's own proxy setting on the competitive set (issue 26): ~55 s per arch on one core, resumable from the committed shards
        run benchmarks/proxy_fidelity.py --archs competitive --settings paper --threads 1 --thread_check 0 --no_synflow --capacity_weights '' --shards benchmarks/results/proxy_fidelity_paper/shards --no_train --out benchmarks/results/proxy_fidelity_paper_partial --quiet
        shards benchmarks/proxy_fidelity.py --archs competitive --settings paper --threads 1 --thread_check 0 --no_synflow --capacity_weights '' --shards benchmarks/results/proxy_fidelity_paper/shards --out benchmarks/results/proxy_fidelity_paper_competitive
        ;;
    *) echo "error: unknown profile '$profile' (valid: small, medium, table)" >&2; exit 2 ;;
esac
