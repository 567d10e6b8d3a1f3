"""Latency on your own device (issue 14): the operator inventories of the tables (NB201, OFA MobileNetV3)
against the real networks, the timing and table-file code (time_ops), the CLI end to end (build,
validate, export-ops, the exported single-file time_ops.py with torch and onnxruntime), the cost model
`local_latency` in a tiny search, and bad input.

Every table here is real and tiny: NB201 at C8/N2 on 16x16 inputs (the size the tiny search prices:
proxy C4/N1, full network C8/N2), OFA MobileNetV3 at 32x32 with 10 classes, each operator timed for at
most 0.05 s; each table is built once per module."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import lightning.pytorch  # noqa: F401  # now: its log handler would keep the stderr of the case that imported it
import pytest
import torch
import yaml
from torch.utils import benchmark  # noqa: F401  # now: its first import logs a CUDA_HOME warning to stderr, not in a case's
from torch.utils.flop_counter import FlopCounterMode

from lightning_nas.config import ConstraintConfig
from lightning_nas.costs import build_cost_model
from lightning_nas.costs.local_latency import LocalLatencyCost, expected_tables, genotype_counts
from lightning_nas.costs.ofa_latency_table import OFALatencyTable, layer_keys
from lightning_nas.errors import ConfigError
from lightning_nas.latency import time_ops
from lightning_nas.latency.build import build_tables
from lightning_nas.latency.cli import main as latency_main
from lightning_nas.latency.lut import LatencyLUT
from lightning_nas.latency.nb201_ops import nb201_counts, nb201_table
from lightning_nas.latency.ofa_ops import _layers, ofa_counts, ofa_table, ofa_tables
from lightning_nas.spaces.nb201.network import OPS, Cell, NB201Network, ResNetReduction
from lightning_nas.spaces.nb201.space import NB201Space
from tests.conftest import REPO, tiny_overrides
from tests.run_fixtures import rows_of

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--max_seconds", "0.05", "--min_runs", "3"]
TIMING = {"min_runs": 3, "threshold": 0.1, "max_seconds": 0.05}
# The full-size network the tiny search prices (proxy C4/N1 from tiny_overrides, digits at 16x16).
NB = {"C": 8, "N": 2, "resolution": 16, "num_classes": 10, "in_channels": 3}
NB_ARGS = ["--space", "nb201", "--C", "8", "--N", "2", "--resolution", "16", "--num_classes", "10"]
OFA_R = 32


# ---- helpers ------------------------------------------------------------------------------------
def latency_cli(*argv: str) -> tuple[int, str, str]:
    """`python -m lightning_nas.latency ARGV` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = latency_main(list(argv))
        except SystemExit as stop:
            rc = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return rc, out.getvalue(), err.getvalue()


def standalone(script: Path, *argv: str, block: tuple[str, ...] = ("lightning_nas",)) -> subprocess.CompletedProcess:
    """The exported time_ops.py as a target runs it (`python time_ops.py ...`), in a fresh interpreter
    where the modules in `block` cannot be imported (a target without this package, or without torch)."""
    code = (
        "import runpy, sys\n"
        "for name in sys.argv[1].split(','):\n"
        "    sys.modules[name] = None\n"
        "sys.argv = sys.argv[2:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, ",".join(block), str(script), *argv],
        cwd=script.parent, env=shell_env(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip


def shell_env() -> dict[str, str]:
    """The environment of a shell: importing lightning (as this test session has) sets
    PYTORCH_NVML_BASED_CUDA_CHECK=1, with which torch.accelerator.is_available() costs ~40 us on a
    machine without a GPU; torch.utils.benchmark calls it around every block, its block-size estimate
    grows tenfold and a build takes three times as long."""
    return {k: v for k, v in os.environ.items() if k != "PYTORCH_NVML_BASED_CUDA_CHECK"}


def latency_process(*argv: str) -> subprocess.CompletedProcess:
    """`python -m lightning_nas.latency ARGV` in a fresh interpreter, as a user runs it (the builds)."""
    return subprocess.run([sys.executable, "-m", "lightning_nas.latency", *argv], cwd=REPO, env=shell_env(),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def one_error_line(rc: int, err: str, needle: str) -> str:
    """Exit code 2, exactly one line on stderr, `error: ...` naming `needle`, no traceback."""
    lines = err.strip().splitlines()
    assert rc == 2, f"exit code {rc}; stderr:\n{err}"
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert needle in lines[0], f"{needle!r} not named in: {lines[0]}"
    return lines[0]


def nparams(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def flops(module: torch.nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module.eval()(x)
    return counter.get_total_flops()


def kind(key: str) -> str:
    """`nor_conv_3x3-input:16x16x8` -> `nor_conv_3x3`."""
    return key.split("-input:")[0]


def nb201_space(**changes: int) -> NB201Space:
    """The tiny search's space: proxy C4/N1, priced at full size C8/N2, 16x16 RGB, 10 classes."""
    kw = {"num_classes": 10, "in_channels": 3, "resolution": 16, "C": 4, "N": 1, "full_C": NB["C"], "full_N": NB["N"], **changes}
    return NB201Space(**kw)


def local_latency(table: Path, space, resolution: int = 16, in_channels: int = 3):
    return build_cost_model(ConstraintConfig("local_latency", 1.0, table=str(table)), space, "digits", resolution, in_channels)


def nb201_meta(**changes) -> dict:
    meta = {**nb201_table(**NB).meta(1), "threads": 1, "backend": "torch", "device": "cpu", "timing": TIMING}
    return {**meta, **changes}


def counting_timer(calls: list[str], key: str, ms: float = 1.0):
    def run() -> dict:
        calls.append(key)
        return {"mean": ms, "std": 0.0, "median": ms, "runs": 3}

    return run


# ---- fixtures: each table built once --------------------------------------------------------------
@pytest.fixture(scope="module")
def nb201_lut(tmp_path_factory, one_torch_thread) -> Path:
    path = tmp_path_factory.mktemp("nb201") / "nb201_cpu.yaml"
    done = latency_process("build", *NB_ARGS, "--threads", "1", "--out", str(path), *TINY)
    assert done.returncode == 0, done.stderr
    assert f"wrote {path}" in done.stdout
    return path


@pytest.fixture(scope="module")
def nb201_ops(tmp_path_factory, one_torch_thread) -> Path:
    out = tmp_path_factory.mktemp("export") / "nb201_ops"
    rc, stdout, err = latency_cli("export-ops", *NB_ARGS, "--out", str(out))
    assert rc == 0, err
    assert f"python {out / 'time_ops.py'} {out} --out LUT.yaml" in stdout
    return out


@pytest.fixture(scope="module")
def ofa_space():
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    return OFAMobileNetV3Space(num_classes=10, resolution=OFA_R, resolutions=(OFA_R,))


@pytest.fixture(scope="module")
def ofa_build(tmp_path_factory, one_torch_thread) -> tuple[Path, str]:
    """`build --space ofa_mbv3 --resolution 32 --out <folder>`: (the --out path, stdout)."""
    out = tmp_path_factory.mktemp("ofa") / "ofa_cpu"
    args = ["build", "--space", "ofa_mbv3", "--resolution", str(OFA_R), "--num_classes", "10", "--threads", "1"]
    done = latency_process(*args, "--out", str(out), *TINY)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


# ---- 1. operator inventories --------------------------------------------------------------------
def test_nb201_table_has_stem_five_ops_per_stage_cells_reductions_and_head():
    keys = [op.key for op in nb201_table(**NB).operators]
    assert len(keys) == 22 and len(set(keys)) == 22
    kinds = Counter(kind(k) for k in keys)
    assert kinds == {"stem": 1, **{op: 3 for op in OPS}, "cell": 3, "reduction": 2, "head": 1}
    # the stages' shapes: 16x16x8, 8x8x16, 4x4x32 (HxWxC, as OFA writes shapes)
    assert {k for k in keys if kind(k) == "nor_conv_3x3"} == {
        "nor_conv_3x3-input:16x16x8", "nor_conv_3x3-input:8x8x16", "nor_conv_3x3-input:4x4x32"
    }  # fmt: skip
    assert "stem-input:16x16x3-output:16x16x8" in keys and "head-input:4x4x32-output:10" in keys
    assert "reduction-input:16x16x8-output:8x8x16" in keys and "reduction-input:8x8x16-output:4x4x32" in keys


def test_nb201_counts_of_every_genotype_name_table_keys_and_add_up():
    table = {op.key for op in nb201_table(**NB).operators}
    per_stage = 6 * NB["N"]
    for g in NB201Space().enumerate():
        counts = nb201_counts(g, **NB)
        assert set(counts) <= table
        assert sum(counts.values()) == 1 + 2 + 3 * (per_stage + NB["N"]) + 1
    g = (3, 3, 0, 2, 4, 3)  # three 3x3 convs, one 1x1, one pool, one zero per cell
    counts = nb201_counts(g, **NB)
    assert counts["nor_conv_3x3-input:8x8x16"] == 3 * NB["N"]
    assert counts["nor_conv_1x1-input:4x4x32"] == NB["N"] and counts["none-input:16x16x8"] == NB["N"]
    assert "skip_connect-input:16x16x8" not in counts
    assert counts["cell-input:4x4x32"] == NB["N"]
    assert sum(n for k, n in counts.items() if kind(k) == "reduction") == 2


@pytest.mark.parametrize("genotype", [(3, 3, 0, 2, 4, 3), (1, 1, 1, 1, 1, 1), (0, 4, 2, 3, 1, 3), (2, 2, 2, 2, 2, 2)])
def test_nb201_counted_operators_make_up_the_real_network(genotype):
    """The counted operators, built at their recorded input shapes, are the full network: the same
    operators at the same input shapes (observed by hooks on NB201Network), the same parameters and the
    same multiply-accumulates."""
    spec = nb201_table(**NB)
    ops = {op.key: op for op in spec.operators}
    counts = nb201_counts(genotype, **NB)
    net = NB201Network(genotype, NB["C"], NB["N"], NB["num_classes"], NB["in_channels"]).eval()
    seen: Counter[tuple[str, tuple[int, ...]]] = Counter()

    def hook(name: str):
        return lambda _m, args: seen.update([(name, tuple(args[0].shape[1:]))])

    net.stem.register_forward_pre_hook(hook("stem"))
    net.lastact.register_forward_pre_hook(hook("head"))
    for block in net.cells:
        if isinstance(block, ResNetReduction):
            block.register_forward_pre_hook(hook("reduction"))
        else:
            assert isinstance(block, Cell)
            block.register_forward_pre_hook(hook("cell"))
            for o, edge in zip(genotype, block.edges, strict=True):
                edge.register_forward_pre_hook(hook(OPS[o]))
    x = torch.randn(1, NB["in_channels"], NB["resolution"], NB["resolution"])
    whole_flops = flops(net, x)
    assert seen == Counter({(kind(k), ops[k].input): n for k, n in counts.items()})
    assert sum(n * nparams(ops[k].build()) for k, n in counts.items()) == nparams(net)
    parts = sum(n * flops(ops[k].build(), torch.randn(1, *ops[k].input)) for k, n in counts.items())
    assert parts == whole_flops > 0


def test_ofa_table_covers_every_layer_of_random_genotypes(ofa_space):
    spec = ofa_table(ofa_space, OFA_R)
    keys = [op.key for op in spec.operators]
    # stem, first block, per stage 3 kernels x 3 expand ratios for its first block and for the others,
    # final expand, pooling, feature mix, classifier
    assert len(keys) == len(set(keys)) == 1 + 1 + 5 * 2 * 9 + 4
    assert spec.shape == {"width_mult": 1.0, "num_classes": 10} and spec.resolution == OFA_R
    rng = random.Random(0)
    genotypes = [ofa_space.sample(rng) for _ in range(300)] + [ofa_space.min_genotype(), ofa_space.max_genotype()]
    used: set[str] = set()
    for g in genotypes:
        counts = ofa_counts(g, 1.0, 10)
        assert set(counts) <= set(keys)
        assert sum(counts.values()) == len(layer_keys(g, 1.0, 10)) == 2 + sum(g.d) + 4
        used |= set(counts)
    assert used == set(keys)  # and the table holds nothing a genotype cannot place


def test_ofa_counted_operators_make_up_the_real_subnet(ofa_space):
    """A genotype's counted operator modules (each built from its uniform full-depth OFA subnet) have
    the subnet's parameters and see the input shapes the subnet's layers see."""
    ops = {op.key: op for op in ofa_table(ofa_space, OFA_R).operators}
    params: dict[str, int] = {}
    rng = random.Random(1)
    for g in [ofa_space.sample(rng) for _ in range(3)]:
        keys = layer_keys(g, 1.0, 10)
        for key in keys:
            if key not in params:
                params[key] = nparams(ops[key].build())
        net = ofa_space.subnet(g).eval()
        assert sum(params[k] for k in keys) == nparams(net)
        seen: list[tuple[int, ...]] = []
        for layer in _layers(net):
            layer.register_forward_pre_hook(lambda _m, args, seen=seen: seen.append(tuple(args[0].shape[1:])))
        with torch.no_grad():
            net(torch.randn(1, 3, g.r, g.r))
        assert seen == [ops[k].input for k in keys]


# ---- 2. timing and the table file ---------------------------------------------------------------
def test_time_callable_reports_the_runs_it_timed():
    calls = [0]

    def fn() -> int:
        calls[0] += 1
        return sum(range(2000))

    r = time_ops.time_callable(fn, min_runs=1000, threshold=10.0, max_seconds=0.05, warmup=2)
    assert r["runs"] >= 1000
    untimed = calls[0] - r["runs"]  # it reports no run it did not make; the warm-up and a block-size estimate are not timed
    assert 2 <= untimed <= 2 + 10, (calls[0], r["runs"])
    assert 0 < r["median"] < 50 and r["mean"] > 0 and r["std"] >= 0
    quick = time_ops.time_callable(lambda: None, min_runs=3, threshold=0.1, max_seconds=0.05)
    assert quick["runs"] >= 3 and quick["median"] > 0


def test_measure_table_resumes_only_the_missing_operators(tmp_path):
    path = tmp_path / "t.yaml"
    keys = [op.key for op in nb201_table(**NB).operators]
    calls: list[str] = []
    first = time_ops.measure_table(path, nb201_meta(), [(k, counting_timer(calls, k, 2.0)) for k in keys[:5]], lambda *a: None)
    assert calls == keys[:5] and list(first) == keys[:5]
    calls.clear()
    entries = time_ops.measure_table(path, nb201_meta(), [(k, counting_timer(calls, k, 1.0)) for k in keys], lambda *a: None)
    assert calls == keys[5:]  # the five measured before are kept, not timed again
    assert list(entries) == keys and all(entries[k]["median"] == 2.0 for k in keys[:5])
    assert json.loads(path.read_text())[time_ops.META]["build_seconds"] >= 0
    calls.clear()
    time_ops.measure_table(path, nb201_meta(), [(k, counting_timer(calls, k)) for k in keys], lambda *a: None)
    assert calls == []
    data = json.loads(path.read_text())
    assert list(data) == [time_ops.META, *keys] and data[keys[0]]["median"] == 2.0
    assert yaml.safe_load(path.read_text()) == data == time_ops.read_table(path)
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("setting", "value"),
    [("threads", 2), ("batch", 8), ("backend", "onnxruntime"), ("device", "cuda"), ("resolution", 32),
     ("space", "ofa_mbv3"), ("shape", {**NB, "C": 16}), ("format", "lightning_nas.latency/0")],
)  # fmt: skip
def test_measure_table_refuses_a_table_measured_with_other_settings(tmp_path, setting, value):
    path = tmp_path / "t.yaml"
    keys = [op.key for op in nb201_table(**NB).operators]
    calls: list[str] = []
    time_ops.measure_table(path, nb201_meta(), [(keys[0], counting_timer(calls, keys[0]))], lambda *a: None)
    before = path.read_text()
    with pytest.raises(time_ops.TableError, match=f"measured with {setting} ") as err:
        time_ops.measure_table(path, nb201_meta(**{setting: value}), [(k, counting_timer(calls, k)) for k in keys], lambda *a: None)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert calls == [keys[0]] and path.read_text() == before


def test_ofa_tables_in_a_folder_are_named_per_resolution_and_read_by_ofa_reader(tmp_path):
    """Two resolutions (two operators each: the stem and the first block) through the real build code:
    `<r>_lookup_table.yaml` per resolution, read by json, PyYAML, OFA's reader and LatencyLUT."""
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

    space = OFAMobileNetV3Space(num_classes=10, resolution=24, resolutions=(16, 24))
    specs = ofa_tables(space)
    for spec in specs:
        spec.operators = spec.operators[:2]
    out = tmp_path / "ofa_two"
    paths = build_tables(specs, out, 1, 1, "torch", "cpu", TIMING)
    assert paths == [out / "16_lookup_table.yaml", out / "24_lookup_table.yaml"]
    ofa = OFALatencyTable.load(out)
    assert sorted(ofa.tables) == [16, 24]
    for r, path in zip((16, 24), paths, strict=True):
        data = json.loads(path.read_text())
        assert yaml.safe_load(path.read_text()) == data
        stem = f"Conv-input:{r}x{r}x3-output:{(r + 1) // 2}x{(r + 1) // 2}x16"
        assert list(data)[:2] == [time_ops.META, stem]
        assert ofa.entry(r, stem) == data[stem]["mean"] > 0
    lut = LatencyLUT.load(out)
    assert sorted(lut.tables) == [16, 24] and lut.space == "ofa_mbv3"


# ---- 3. the CLI end to end ----------------------------------------------------------------------
def test_build_writes_every_operator_with_its_settings(nb201_lut):
    data = json.loads(nb201_lut.read_text())
    assert yaml.safe_load(nb201_lut.read_text()) == data
    meta = data[time_ops.META]
    assert list(data)[1:] == [op.key for op in nb201_table(**NB).operators]
    assert meta["space"] == "nb201" and meta["resolution"] == 16 and meta["shape"] == {k: v for k, v in NB.items() if k != "resolution"}
    assert (meta["batch"], meta["threads"], meta["backend"], meta["device"]) == (1, 1, "torch", "cpu")
    assert meta["timing"] == TIMING and meta["machine"]["cores"] >= 1 and meta["machine"]["torch"] == torch.__version__
    for key, entry in data.items():
        if key != time_ops.META:
            assert entry["median"] > 0 and entry["mean"] > 0 and entry["std"] >= 0 and entry["runs"] >= 3, key
    lut = LatencyLUT.load(nb201_lut)
    lut.check(expected_tables(nb201_space()), "the tiny search's network")


def test_build_again_times_only_the_missing_operators(nb201_lut, tmp_path):
    path = tmp_path / "again.yaml"
    data = json.loads(nb201_lut.read_text())
    gone = ["nor_conv_1x1-input:8x8x16", "head-input:4x4x32-output:10"]
    path.write_text(json.dumps({k: v for k, v in data.items() if k not in gone}))
    rc, out, err = latency_cli("build", *NB_ARGS, "--threads", "1", "--out", str(path), *TINY)
    assert rc == 0, err
    timed = [line.rsplit("  ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    assert timed == [k for k in data if k in gone]
    again = json.loads(path.read_text())
    assert list(again)[0] == time_ops.META and sorted(again) == sorted(data)  # the new entries come last: in the order measured
    assert all(again[k] == v for k, v in data.items() if k not in gone and k != time_ops.META)
    assert all(again[k]["median"] > 0 for k in gone)
    # the same table with another batch size: refused, one line, the file untouched
    before = path.read_text()
    rc, out, err = latency_cli("build", *NB_ARGS, "--threads", "1", "--batch", "4", "--out", str(path), *TINY)
    one_error_line(rc, err, "batch")
    assert path.read_text() == before


def test_validate_prints_the_rank_correlations_and_writes_its_files(nb201_lut):
    rc, out, err = latency_cli("validate", "--lut", str(nb201_lut), "--n", "4")
    assert rc == 0, err
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"spearman=(-?\d+\.\d{4}) kendall_tau=(-?\d+\.\d{4}) mape_pct=(\d+\.\d{2})", last)
    assert m, last
    folder = nb201_lut.parent / "nb201_cpu_validation"  # default: beside the table
    result = json.loads((folder / "validation.json").read_text())
    assert result["n"] == 4 and result["seed"] == 0
    for name, value in zip(("spearman", "kendall_tau", "mape_pct"), m.groups(), strict=True):
        assert float(value) == pytest.approx(result[name], abs=0.006)
    assert -1 <= result["spearman"] <= 1 and -1 <= result["kendall_tau"] <= 1 and result["mape_pct"] >= 0
    rows = list(csv.DictReader(open(folder / "validation.csv")))
    assert len(rows) == 4 and len({r["arch"] for r in rows}) == 4
    lut, space = LatencyLUT.load(nb201_lut), nb201_space()
    for row in rows:
        g = space.parse(row["arch"])
        assert float(row["predicted_ms"]) == pytest.approx(lut.predict(*genotype_counts(space, g)), rel=1e-9)
        assert float(row["measured_ms"]) > 0
    assert (folder / "validation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_ops_writes_operators_a_manifest_and_the_script(nb201_ops):
    manifest = json.loads((nb201_ops / time_ops.MANIFEST).read_text())
    assert manifest["format"] == time_ops.FORMAT and len(manifest["tables"]) == 1
    ops = manifest["tables"][0]["operators"]
    assert [op["key"] for op in ops] == [op.key for op in nb201_table(**NB).operators]
    for op in ops:
        assert (nb201_ops / op["torchscript"]).stat().st_size > 0 and (nb201_ops / op["onnx"]).stat().st_size > 0
    assert (nb201_ops / "time_ops.py").read_bytes() == Path(time_ops.__file__).read_bytes()


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_exported_time_ops_script_writes_the_same_table_on_a_target(nb201_ops, nb201_lut, backend):
    """The copied time_ops.py in a fresh interpreter where lightning_nas cannot be imported (and, with
    onnxruntime, neither can torch): a table LatencyLUT accepts, with the in-process build's operators."""
    block: tuple[str, ...] = ("lightning_nas",)
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
        block = ("lightning_nas", "torch")
    out = nb201_ops.parent / f"lut_{backend}.yaml"
    done = standalone(nb201_ops / "time_ops.py", str(nb201_ops), "--out", str(out), "--backend", backend, *TINY, block=block)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (22 operators" in done.stdout
    lut = LatencyLUT.load(out)
    lut.check(expected_tables(nb201_space()), "the tiny search's network")
    ours = json.loads(nb201_lut.read_text())
    theirs = json.loads(out.read_text())
    assert list(theirs) == list(ours)
    for setting in ("format", "space", "resolution", "shape", "batch", "threads", "device"):
        assert theirs[time_ops.META][setting] == ours[time_ops.META][setting], setting
    assert theirs[time_ops.META]["backend"] == backend and theirs[time_ops.META]["timing"] == TIMING
    g = (3, 3, 0, 2, 4, 3)
    assert lut.predict(*genotype_counts(nb201_space(), g)) > 0


def test_time_ops_script_run_again_on_a_finished_table_changes_nothing(nb201_ops, nb201_lut, tmp_path, capsys):
    """The exported script continues a table made by `build` (same settings): nothing left to time."""
    path = tmp_path / "done.yaml"
    shutil.copyfile(nb201_lut, path)
    rc = time_ops.main([str(nb201_ops), "--out", str(path), *TINY])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"wrote {path} (22 operators" in out and not err
    again = json.loads(path.read_text())
    ours = json.loads(nb201_lut.read_text())
    assert list(again) == list(ours) and all(again[k] == v for k, v in ours.items() if k != time_ops.META)


def test_ofa_build_writes_a_resolution_named_table_in_the_out_folder(ofa_build):
    """The CLI's documented layout: `one <resolution>_lookup_table.yaml per resolution in the --out
    folder` (OFA's LatencyTable layout), with the default single resolution too."""
    out, stdout = ofa_build
    table = out / f"{OFA_R}_lookup_table.yaml"
    assert table.is_file(), f"{out} is {'a file' if out.is_file() else 'missing'}; stdout: {stdout}"
    assert f"wrote {table}" in stdout


def test_ofa_build_is_read_by_lut_and_by_ofa_reader_and_prices_subnets(ofa_build, ofa_space):
    out, _ = ofa_build
    lut = LatencyLUT.load(out)
    assert lut.space == "ofa_mbv3" and list(lut.tables) == [OFA_R]
    lut.check(expected_tables(ofa_space), "the ofa_mbv3 space at 32x32")
    assert list(lut.tables[OFA_R]) == [op.key for op in ofa_table(ofa_space, OFA_R).operators]
    ofa = OFALatencyTable.load(out)
    ofa_cost = build_cost_model(ConstraintConfig("ofa_latency", 1.0, table=str(out)), ofa_space, "digits", OFA_R)
    source = lut.sources[OFA_R]
    data = yaml.safe_load(source.read_text())
    assert data == json.loads(source.read_text())
    rng = random.Random(2)
    for g in [ofa_space.sample(rng) for _ in range(5)]:
        keys = layer_keys(g, 1.0, 10)
        assert ofa.latency(g, 1.0, 10) == pytest.approx(sum(data[k]["mean"] for k in keys))
        assert ofa_cost.cost(g) == pytest.approx(ofa.latency(g, 1.0, 10))
        assert lut.predict(*genotype_counts(ofa_space, g)) == pytest.approx(sum(data[k]["median"] for k in keys))


# ---- 4. the cost model --------------------------------------------------------------------------
def test_tiny_search_records_the_table_prediction_of_each_candidate(nb201_lut, tmp_path):
    from lightning_nas.search.cli import main as search_main

    run = tmp_path / "run"
    argv = [*tiny_overrides(tmp_path), "--threads", "1", "--space.full_C", str(NB["C"]), "--space.full_N", str(NB["N"]),
            "--cost.metric", "local_latency", "--cost.table", str(nb201_lut), "--cost.budget", "1.0", "--run_dir", str(run)]  # fmt: skip
    try:
        rc = search_main(argv)
    except SystemExit as stop:
        rc = stop.code
    assert rc in (0, None)
    results = json.loads((run / "results.json").read_text())
    assert results["cost_metric"] == "local_latency" and results["cost_unit"] == "ms"
    lut, space = LatencyLUT.load(nb201_lut), nb201_space()
    rows = rows_of(run)
    assert len(rows) == 8
    for row in rows:
        g = space.from_json(row["genotype"])
        # priced on the full-size network (C8/N2), not the proxy (C4/N1) the search trains
        assert row["cost_local_latency"] == pytest.approx(lut.predict(16, nb201_counts(g, **NB)), rel=1e-12)
        assert row["feasible"] == (row["cost_local_latency"] <= 1.0)
    assert results["best"]["cost"] == pytest.approx(lut.predict(*genotype_counts(space, space.from_json(results["best"]["genotype"]))))


def test_pricing_a_genotype_takes_under_a_millisecond(nb201_lut, ofa_build, ofa_space):
    model = local_latency(nb201_lut, nb201_space())
    assert isinstance(model, LocalLatencyCost) and model.unit == "ms"
    space = nb201_space()
    rng = random.Random(0)
    genotypes = [space.sample(rng) for _ in range(1000)]
    t0 = time.perf_counter()
    costs = [model.cost(g) for g in genotypes]
    nb201_seconds = time.perf_counter() - t0
    assert all(c > 0 for c in costs) and len(set(costs)) > 100
    assert nb201_seconds / 1000 < 1e-3, f"{nb201_seconds * 1e3:.3f} us per NB201 genotype"
    ofa_model = local_latency(ofa_build[0], ofa_space, OFA_R)
    genotypes = [ofa_space.sample(rng) for _ in range(1000)]
    t0 = time.perf_counter()
    costs = [ofa_model.cost(g) for g in genotypes]
    ofa_seconds = time.perf_counter() - t0
    assert all(c > 0 for c in costs)
    assert ofa_seconds / 1000 < 1e-3, f"{ofa_seconds * 1e3:.3f} us per OFA genotype"


# ---- 5. bad input -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad(tmp_path_factory, nb201_lut) -> Path:
    """Damaged and foreign tables beside a good one."""
    d = tmp_path_factory.mktemp("bad")
    data = json.loads(nb201_lut.read_text())
    meta = data[time_ops.META]
    (d / "garbage.yaml").write_text("key: [unclosed\n  - x: {\n")
    (d / "binary.yaml").write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    (d / "list.yaml").write_text(json.dumps(list(data)))
    (d / "empty.yaml").write_text("")
    first = next(k for k in data if k != time_ops.META)
    for name, entry in [("zero", {"mean": 0.0, "std": 0.0}), ("text", {"mean": "fast"}), ("nomean", {"std": 1.0}),
                        ("negative", {"median": -1.0, "mean": 1.0}), ("scalar", 3.0)]:  # fmt: skip
        (d / f"entry_{name}.yaml").write_text(json.dumps({**data, first: entry}))
    (d / "nan.yaml").write_text(json.dumps({**data, first: {"mean": float("nan"), "median": float("nan")}}))
    ofa_style = "Conv-input:32x32x3-output:16x16x16: {mean: 1.2, std: 0.1}\nLogits-input:1x1x1280-output:10: {mean: 0.1}\n"
    (d / "foreign.yaml").write_text(ofa_style)
    (d / "lacking.yaml").write_text(json.dumps({k: v for k, v in data.items() if k != "avg_pool_3x3-input:8x8x16"}))
    (d / "other_space.yaml").write_text(json.dumps({**data, time_ops.META: {**meta, "space": "ofa_mbv3"}}))
    (d / "other_resolution.yaml").write_text(json.dumps({**data, time_ops.META: {**meta, "resolution": 32}}))
    (d / "cuda.yaml").write_text(json.dumps({**data, time_ops.META: {**meta, "device": "cuda"}}))
    (d / "no_manifest").mkdir()
    return d


BUILD = ["build", *NB_ARGS, *TINY]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["build", "--space", "darts", "--out", "{bad}/x.yaml"], "--space"),
        ([*BUILD, "--device", "tpu", "--out", "{bad}/x.yaml"], "--device"),
        ([*BUILD, "--threads", "0", "--out", "{bad}/x.yaml"], "--threads"),
        ([*BUILD, "--threads", "-1", "--out", "{bad}/x.yaml"], "--threads"),
        ([*BUILD, "--backend", "tensorrt", "--out", "{bad}/x.yaml"], "--backend"),
        ([*BUILD, "--batch", "0", "--out", "{bad}/x.yaml"], "--batch"),
        (["build", "--space", "nb201", "--resolution", "16", "--resolution", "32", "--out", "{bad}/x.yaml"], "--resolution"),
        ([*BUILD, "--min_runs", "0", "--out", "{bad}/x.yaml"], "--min_runs"),
        (["validate", "--lut", "{bad}/missing.yaml"], "missing.yaml"),
        (["validate", "--lut", "{bad}/garbage.yaml"], "garbage.yaml"),
        (["validate", "--lut", "{bad}/binary.yaml"], "binary.yaml"),
        (["validate", "--lut", "{bad}/list.yaml"], "mapping"),
        (["validate", "--lut", "{bad}/empty.yaml"], "empty.yaml"),
        (["validate", "--lut", "{bad}/entry_zero.yaml"], "positive"),
        (["validate", "--lut", "{bad}/entry_text.yaml"], "positive"),
        (["validate", "--lut", "{bad}/entry_nomean.yaml"], "positive"),
        (["validate", "--lut", "{bad}/entry_negative.yaml"], "positive"),
        (["validate", "--lut", "{bad}/entry_scalar.yaml"], "positive"),
        (["validate", "--lut", "{bad}/nan.yaml"], "positive"),
        (["validate", "--lut", "{bad}/foreign.yaml"], "_meta"),
        (["validate", "--lut", "{bad}/no_manifest"], "no *.yaml"),
        (["validate", "--lut", "{bad}/garbage.yaml", "--n", "1"], "--n"),
        (["validate", "--lut", "{bad}/garbage.yaml", "--min_runs", "0"], "--min_runs"),
        (["validate", "--lut", "{bad}/garbage.yaml", "--max_seconds", "0"], "--max_seconds"),
    ],
    ids=lambda v: " ".join(v).replace("{bad}/", "") if isinstance(v, list) else None,
)
def test_latency_cli_refuses_bad_input_in_one_line(bad, argv, needle):
    rc, out, err = latency_cli(*(a.replace("{bad}", str(bad)) for a in argv))
    one_error_line(rc, err, needle)
    assert not (bad / "x.yaml").exists()
    assert not [p for p in bad.iterdir() if p.name.endswith("_validation")]


def test_build_for_cuda_without_cuda_is_one_line(bad):
    if torch.cuda.is_available():
        pytest.skip("CUDA is visible here")
    rc, out, err = latency_cli(*BUILD, "--device", "cuda", "--out", str(bad / "x.yaml"))
    one_error_line(rc, err, "cuda")


def test_validate_of_a_cuda_table_without_cuda_is_one_line(bad, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is visible here")
    rc, out, err = latency_cli("validate", "--lut", str(bad / "cuda.yaml"), "--n", "2", "--out", str(tmp_path / "v"))
    one_error_line(rc, err, "cuda")


def test_validate_checks_the_table_before_timing_anything(nb201_lut, tmp_path):
    """A table lacking an operator is refused up front (as the search refuses it), not after timing the
    architectures drawn before the first one that uses it."""
    from lightning_nas.latency.validate import sample

    drawn = [set(nb201_counts(g, **NB)) for g in sample(nb201_space(), 4, 0)]
    missing = sorted(set.union(*drawn[1:]) - drawn[0])[0]  # the first architecture drawn does not use it, a later one does
    data = json.loads(nb201_lut.read_text())
    lacking = tmp_path / "lacking.yaml"
    lacking.write_text(json.dumps({k: v for k, v in data.items() if k != missing}))
    rc, out, err = latency_cli("validate", "--lut", str(lacking), "--n", "4", "--out", str(tmp_path / "v"))
    one_error_line(rc, err, missing)
    assert not (tmp_path / "v").exists()


def test_build_into_a_folder_that_does_not_exist_yet(tmp_path):
    out = tmp_path / "tables" / "cpu" / "nb201.yaml"
    done = latency_process("build", "--space", "nb201", "--C", "2", "--N", "1", "--resolution", "8", "--threads", "1",
                           "--out", str(out), "--max_seconds", "0.01", "--min_runs", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(LatencyLUT.load(out).tables[8]) == 22


@pytest.mark.parametrize(
    ("table", "space", "needle"),
    [
        ("missing.yaml", {}, "not found"),
        ("garbage.yaml", {}, "garbage.yaml"),
        ("list.yaml", {}, "mapping"),
        ("entry_zero.yaml", {}, "positive"),
        ("foreign.yaml", {}, "_meta"),
        ("GOOD", {"resolution": 32}, "resolution 32"),
        ("other_resolution.yaml", {}, "resolution 16"),
        ("GOOD", {"full_C": 16, "full_N": 5}, "'C': 16"),
        ("GOOD", {"full_N": 3}, "'N': 3"),
        ("GOOD", {"num_classes": 100}, "'num_classes': 100"),
        ("GOOD", {"in_channels": 1}, "'in_channels': 1"),
        ("other_space.yaml", {}, "ofa_mbv3 space, not nb201"),
        ("lacking.yaml", {}, "avg_pool_3x3-input:8x8x16"),
    ],
)
def test_cost_model_refuses_a_table_that_does_not_fit_the_search(bad, nb201_lut, table, space, needle):
    path = nb201_lut if table == "GOOD" else bad / table
    s = nb201_space(**space)
    with pytest.raises(ConfigError) as err:
        local_latency(path, s, s.resolution, s.in_channels)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_cost_model_needs_a_table_and_the_right_space(nb201_lut, ofa_build, ofa_space):
    with pytest.raises(ConfigError, match="cost.table"):
        build_cost_model(ConstraintConfig("local_latency", 1.0), nb201_space(), "digits", 16)
    with pytest.raises(ConfigError, match="built for the nb201 space, not ofa_mbv3"):
        local_latency(nb201_lut, ofa_space, OFA_R)
    with pytest.raises(ConfigError, match="built for the ofa_mbv3 space, not nb201"):
        local_latency(ofa_build[0], nb201_space())


def test_search_refuses_a_table_lacking_an_operator_before_it_starts(bad, tmp_path, capsys):
    from lightning_nas.search.cli import main as search_main

    run = tmp_path / "run"
    argv = [*tiny_overrides(tmp_path), "--threads", "1", "--space.full_C", str(NB["C"]), "--space.full_N", str(NB["N"]),
            "--cost.metric", "local_latency", "--cost.table", str(bad / "lacking.yaml"), "--run_dir", str(run)]  # fmt: skip
    with pytest.raises(SystemExit) as stop:
        search_main(argv)
    one_error_line(stop.value.code, capsys.readouterr().err, "avg_pool_3x3-input:8x8x16")
    assert not run.exists()


def test_time_ops_script_refuses_a_folder_without_manifest(bad, capsys):
    rc = time_ops.main([str(bad / "no_manifest"), "--out", str(bad / "x.yaml")])
    one_error_line(rc, capsys.readouterr().err, "manifest.json")
    (bad / "garbage_manifest").mkdir(exist_ok=True)
    (bad / "garbage_manifest" / "manifest.json").write_text("{not json")
    rc = time_ops.main([str(bad / "garbage_manifest"), "--out", str(bad / "x.yaml")])
    one_error_line(rc, capsys.readouterr().err, "manifest.json")
    rc = time_ops.main([str(bad / "no_manifest"), "--out", str(bad / "x.yaml"), "--threads", "0"])
    one_error_line(rc, capsys.readouterr().err, "--threads")
    assert not (bad / "x.yaml").exists()


def test_time_ops_script_without_onnxruntime_is_one_line(nb201_ops, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # a target where onnxruntime is not installed
    rc = time_ops.main([str(nb201_ops), "--out", str(tmp_path / "t.yaml"), "--backend", "onnxruntime", *TINY])
    one_error_line(rc, capsys.readouterr().err, "onnxruntime")


def test_time_ops_script_for_cuda_without_cuda_is_one_line(nb201_ops, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is visible here")
    rc = time_ops.main([str(nb201_ops), "--out", str(tmp_path / "t.yaml"), "--device", "cuda", *TINY])
    one_error_line(rc, capsys.readouterr().err, "cuda")


def test_time_ops_script_with_an_operator_file_missing_is_one_line(nb201_ops, tmp_path, capsys):
    """An ops folder copied to the target without one of its files."""
    ops = tmp_path / "ops"
    shutil.copytree(nb201_ops, ops)
    (ops / "t0_op000.pt").unlink()
    rc = time_ops.main([str(ops), "--out", str(tmp_path / "t.yaml"), *TINY])
    one_error_line(rc, capsys.readouterr().err, "t0_op000.pt")


def test_the_package_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lightning_nas.latency", "build", "--space", "nope", "--out", str(tmp_path / "x")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    one_error_line(done.returncode, done.stderr, "--space")


def test_calibrate_stores_the_median_ratio_and_predictions_use_it(nb201_lut, tmp_path):
    """calibrate: scale = median of end-to-end / operator sum over its own sample (checked against the
    ratios it reports), written into the table; predict = scale x operator sum, the ranking unchanged."""
    import shutil

    table = tmp_path / "calibrated.yaml"
    shutil.copyfile(nb201_lut, table)
    rc, out, err = latency_cli("calibrate", "--lut", str(table), "--n", "3", "--seed", "1")
    assert rc == 0, err
    calibration = LatencyLUT.load(table).metas[16]["calibration"]
    assert calibration["n"] == 3 and calibration["seed"] == 1
    assert calibration["ratio_min"] <= calibration["scale"] <= calibration["ratio_max"]
    assert f"{calibration['scale']:.4f} (median of 3" in out
    lut, raw, space = LatencyLUT.load(table), LatencyLUT.load(nb201_lut), nb201_space()
    genotypes = [space.sample(random.Random(i)) for i in range(20)]
    for g in genotypes:
        counts = genotype_counts(space, g)
        assert lut.predict(*counts) == pytest.approx(calibration["scale"] * raw.predict(*counts), rel=1e-12)
        assert lut.operator_sum(*counts) == pytest.approx(raw.predict(*counts), rel=1e-12)
    data = json.loads(table.read_text())
    data["_meta"]["calibration"] = {"scale": -1}
    table.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="_meta.calibration must hold a positive finite 'scale'"):
        LatencyLUT.load(table)
    assert latency_cli("calibrate", "--lut", str(nb201_lut), "--n", "1")[0] == 2
