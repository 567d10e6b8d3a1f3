#!/usr/bin/env bash
# One-shot check for a lent GPU machine (one NVIDIA H100/H200, 16 cores), in priority order, each part under
# its own time cap, within TOTAL_S seconds in all (default 560: the whole script ends within 10 minutes):
# first the paper-setting RMI table (issue 26: benchmarks/build_rmi_table.py --profile paper, the classes in
# the order of benchmarks/tables/priority_nb201.txt, shards under $OUT/rmi_table, then its coverage), then
# every section of benchmarks/device_check.py. Run it from anywhere; it works in the repo root.
#
#     benchmarks/device_check.sh              # on the GPU machine
#     benchmarks/device_check.sh --dry-run    # CPU, toy size, well under a minute (what the tests run)
#     benchmarks/device_check.sh --section gpu_cpu_rmi   # one section only
#
# Outputs go to $OUT when set (the device machine's output folder), else benchmarks/results/device_check/:
# device_check.log, command.txt, config.json, versions.json and one <section>.json per section.
# Environment: $PYTHON, else .venv/bin/python, else python3. When that interpreter cannot import the
# project's modules, one guarded step installs what is missing: wheels carried in .whl/ (offline, into
# /tmp/site), else a venv over the system packages with `pip install -e .` (needs a package registry).
# Data: ../shared/data, ./shared/data, ./.device-data or $LNAS_SHARED_DATA (see benchmarks/README.md).
set -uo pipefail

dry_run=()
only=""
TOTAL_S="${TOTAL_S:-560}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) dry_run=(--dry-run); shift ;;
        --section) only="${2:?--section needs a name}"; shift 2 ;;
        --total-s) TOTAL_S="${2:?--total-s needs seconds}"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument '$1' (valid: --dry-run, --section NAME, --total-s SECONDS)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.." || exit 2
OUT_DIR="${OUT:-benchmarks/results/device_check}"
mkdir -p "$OUT_DIR"
exec > >(tee -a "$OUT_DIR/device_check.log") 2>&1
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="${PYTHON:-$([[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3)}"
if [[ -z ${LNAS_SHARED_DATA:-} && ! -d ../shared/data ]]; then  # the benchmark scripts' data on a device machine
    for d in shared/data .device-data; do [[ -d $d ]] && { export LNAS_SHARED_DATA="$PWD/$d"; break; }; done
fi
driver=(benchmarks/device_check.sh "${dry_run[@]}" ${only:+--section "$only"})
commands=("${driver[*]}")
failed=0

elapsed() { echo $((SECONDS)); }
left() { echo $((TOTAL_S - SECONDS)); }

# ---- 0. environment (guarded: installs only when the imports fail) ----------------------------------
MODULES="torch lightning deap nas_201_api jsonargparse scipy yaml lightning_nas"
have_modules() {
    "$PYTHON" -c "import importlib.util as u, sys; m=[n for n in sys.argv[1:] if u.find_spec(n) is None]; print('missing:', *m) if m else None; sys.exit(1 if m else 0)" $MODULES
}
start=$SECONDS
echo "== environment: $PYTHON ($("$PYTHON" --version 2>&1)), $(nproc) CPUs"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if ! have_modules; then
    if compgen -G ".whl/*.whl" >/dev/null; then
        echo "installing the carried wheels in .whl/ (offline) into /tmp/site"
        timeout 120 "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
        export PYTHONPATH="$PYTHONPATH:/tmp/site"
    else
        echo "no .whl/: a venv over the system packages, with the project and the packages it lacks (needs a registry)"
        timeout 300 python3 -m venv --system-site-packages .venv-device \
            && timeout 300 .venv-device/bin/pip install -q --no-deps -e . \
            && timeout 300 .venv-device/bin/pip install -q deap nas-bench-201 'jsonargparse[signatures]'
        PYTHON=.venv-device/bin/python
    fi
    have_modules || { echo "error: the environment is still missing modules (see benchmarks/README.md, Device check)"; exit 3; }
fi
echo "== environment: $((SECONDS - start)) s"

# ---- sections, in priority order: name and cap (seconds) ------------------------------------------
run_section() {
    local name=$1 cap=$2
    [[ -n $only && $only != "$name" ]] && return 0
    local budget=$(( $(left) - 5 ))
    (( cap > budget )) && cap=$budget
    if (( cap < 30 )); then
        echo "== section $name: SKIPPED (only ${budget} s of the ${TOTAL_S} s left)"
        return 0
    fi
    local soft=$(( cap - 15 ))  # the section stops itself here; timeout is the backstop
    local cmd=(benchmarks/device_check.py --section "$name" --cap_s "$soft" --out "$OUT_DIR" "${dry_run[@]}")
    commands+=("python ${cmd[*]}")
    echo "== section $name (cap ${cap} s)"
    local t=$SECONDS
    timeout --kill-after=5 "$cap" "$PYTHON" "${cmd[@]}"
    local rc=$?
    (( rc != 0 )) && failed=1
    echo "== section $name: rc=$rc, $((SECONDS - t)) s (total $(elapsed) s)"
}

# ---- the paper-setting RMI table: most of the device time, first ----------------------------------------
# Shards of 64 classes, 8 candidates per GPU; the build starts no shard it cannot finish within its cap (the
# timeout is the backstop), then merges what it built and records the coverage and seconds per arch.
run_table() {
    local cap=$1
    [[ -n $only && $only != paper_table ]] && return 0
    local soft=$(( cap - 30 ))  # leaves the merge its time
    local sizing=(--profile paper --shard_size 64)
    local run_on=(--proxy.accelerator gpu --proxy.candidates_per_gpu 8 --search.backend local --search.workers auto
                  --search.threads_per_worker 1)
    if [[ ${#dry_run[@]} -gt 0 ]]; then sizing=(--profile tiny --limit 4 --shard_size 2); run_on=(); fi
    local tables="$OUT_DIR/rmi_table"
    local common=("${sizing[@]}" --order benchmarks/tables/priority_nb201.txt --tables "$tables" --cache "$tables/cache.sqlite")
    local cmd=(benchmarks/build_rmi_table.py "${common[@]}" --shard next --max_shards 999 --time_cap_s "$soft" "${run_on[@]}")
    local merge=(benchmarks/build_rmi_table.py "${common[@]}" --merge --record "$tables/record")
    commands+=("python ${cmd[*]}" "python ${merge[*]}")
    echo "== section paper_table (cap ${cap} s)"
    local t=$SECONDS
    mkdir -p "$tables"
    timeout --kill-after=5 "$(( cap - 20 ))" "$PYTHON" "${cmd[@]}"
    local rc=$?
    timeout --kill-after=5 20 "$PYTHON" "${merge[@]}" || rc=1
    (( rc != 0 )) && failed=1
    echo "== section paper_table: rc=$rc, $((SECONDS - t)) s (total $(elapsed) s)"
}
run_table 270

# Caps sum to 545 s: the environment step may take 10 s of TOTAL_S (560, less 5 s of margin) before the last
# section's cap shrinks. search_throughput splits whatever it gets among its settings, while gpu_cpu_rmi's
# CPU side needs its 150 s for one wave of C16/N5 candidates.
run_section search_throughput 80
run_section gpu_cpu_rmi 150
run_section trainer_overhead 45
# ---- own-device latency table (later work: a section of device_check.py, then a line here) ----------

printf '%s\n' "${commands[@]}" > "$OUT_DIR/command.txt"
echo "== device check done in $(elapsed) s (failed sections: $failed); outputs in $OUT_DIR"
exit $failed
