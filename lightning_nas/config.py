"""The run configuration: one dataclass per section, every knob a key with the paper's default.

Parsed with jsonargparse, LightningCLI style: `--config FILE.yaml` plus dotted overrides such as
`--cost.budget 4.0 --search.population 20`; `--print_config` shows the resolved config."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser

from lightning_nas.errors import ConfigError

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


@dataclass
class ReferenceConfig:
    """arch: resnet20/32/44/56, ofa_mbv3_max (the largest OFA MobileNetV3 subnet; init_args: weights,
    width_mult) or an import path `package.module.ClassOrFactory` (called with init_args).
    checkpoint: weights to load; without one, the model is trained on the dataset and cached.
    taps: the layers whose outputs are compared with the candidate's (3 for the paper).
    bn_mode: `train` (batch statistics, as the published code) or `eval`."""

    arch: str = "resnet20"
    init_args: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    taps: list[str] = field(default_factory=lambda: ["layer1", "layer2", "layer3"])
    bn_mode: str = "train"
    train_epochs: int = 30
    train_lr: float = 0.1
    train_batch_size: int = 128
    cache_dir: str = "~/.cache/lightning_nas"


@dataclass
class ProbeConfig:
    """pool: images drawn (512); batch_size: images kept (32); augment: crop+flip once before choosing."""

    pool: int = 512
    batch_size: int = 32
    augment: bool = True


@dataclass
class ProxyConfig:
    """steps: N_train (100); beta: weight of the CKA term (0.8); SGD lr/momentum/weight decay
    (0.1/0.9/5e-4, constant lr); score_bn_mode: BN mode when scoring the trained candidate;
    accelerator: where the candidate trains (cpu | gpu | auto, Lightning's names; part of the score key).
    candidates_per_gpu: candidates training at once on each GPU with accelerator gpu (the local backend
    runs that many workers per visible GPU; Ray gives each candidate 1/candidates_per_gpu of a GPU).
    A candidate's last-step losses and per-layer CKA come back with its score (the search logs them).
    score_on: the batch the trained candidate is scored on: `probe` (the paper: the batch it trained on) or
    `heldout` (opt-in, not in the paper: a second batch of probe.batch_size images, chosen like the probe
    batch from a pool drawn with another seed and sharing no image with it; CKA there measures what
    the candidate learned rather than what it memorised of the probe batch).
    score_steps: steps (each in 1..steps-1) after which the same training is also scored, e.g. [100] with
    steps 150 gives the 100-step and the 150-step RMI of one run (`ProxyResult.rmi_at`; not in the paper;
    the search's fitness stays the final score; empty: none).
    table: a table of precomputed scores (`rmi_<space>_<profile>.csv.gz` with its provenance JSON beside
    it, written by `precompute --export_table`): every score is served from it and no candidate trains;
    refused, naming what differs, when the table was computed under other settings (null: train each)."""

    steps: int = 100
    beta: float = 0.8
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    score_bn_mode: str = "train"
    score_on: str = "probe"
    accelerator: str = "cpu"
    candidates_per_gpu: int = 1
    score_steps: list[int] = field(default_factory=list)
    table: str | None = None


@dataclass
class ConstraintConfig:
    """One hardware constraint cost <= budget.

    budget: Omega, in the metric's own unit; `null` (no hard budget) only with search.algorithm nsga2.
    metric: flops (MFLOPs) | params (M) | an HW-NAS-Bench metric such as pixel3_latency (ms) or
    edgegpu_energy (mJ) | measured_latency (ms, on this machine) | ofa_latency (ms, from OFA's latency
    look-up tables, ofa_mbv3 space only).
    table: HW-NAS-Bench-v1_0.pickle or a CSV table (needed for HW-NAS-Bench metrics); for ofa_latency
    an OFA `<resolution>_lookup_table.yaml` or a folder of them.
    dataset: HW-NAS-Bench dataset (cifar10, cifar100, ImageNet16-120); default follows data.name.
    device: where measured_latency runs (cpu, cuda); warmup: untimed forward passes before measuring
    (3); repeats: timed passes, the median is the latency (10)."""

    metric: str = "flops"
    budget: float | None = 100.0
    table: str | None = None
    dataset: str | None = None
    device: str = "cpu"
    warmup: int = 3
    repeats: int = 10


MAX_POPULATION = 100_000  # a population is held in memory and checkpointed as JSON every generation


@dataclass
class GAConfig:
    """population: N_pop (20); generations: N_gen (100); tournament_size (3); crossover_prob (1.0,
    per-gene uniform crossover); mutation_rate (0.1 per gene); elites (1); constraint_handling:
    penalty (the paper) | rejection (the baseline); max_rejection_draws: give up after this many draws
    in the whole run (initial population and every generation's children together); hall_of_fame_size:
    the best distinct candidates kept across generations (results.json's hall_of_fame).

    How a generation's new candidates are evaluated (the results do not depend on it, only on the thread
    count per candidate): backend serial (one after another in the search process, at `threads`) |
    local (a pool of `workers` spawned processes on this machine, `threads_per_worker` torch threads
    each; auto = CPU cores / threads_per_worker, or GPUs x proxy.candidates_per_gpu with accelerator
    gpu) | ray (Ray tasks, see the `ray` section; auto = as many at once as the cluster can hold).

    algorithm: ga (the paper: one budget, fitness RMI + penalty) | nsga2 (NSGA-II: the RMI-cost front of
    the RMI and every cost in `cost` / `cost.extra`; budgets are optional, `null` for none, and where given
    act by constrained domination; elites and constraint_handling do not apply, tournament_size does:
    crowded tournaments). hv_reference: NSGA-II's hypervolume reference point, the RMI then one value per
    cost objective; empty = RMI 0 and 1.1 x the largest cost of the first generation, fixed from then on.

    seed: the GA's own RNG seed (selection, crossover, mutation); null = the run's `seed`, which also seeds
    each candidate's initialisation (part of every score's key), so several GA seeds can share one set of
    scores (a table, the cache). checkpoint_every: write checkpoint.json and evaluations.csv every this
    many generations and after the last (1, the default; 0 = only after the last). Scores are appended
    to evaluations.jsonl as they arrive whatever it is: a resume replays from them when the checkpoint
    is older.

    capacity_weight: w in fitness = RMI + w * log10(FLOPs in MFLOPs) + penalty, a capacity tie-break (0,
    the paper: off; opt-in, not in the paper). RMI saturates among good cells (CKA near 1), where the
    larger network is usually the better one; the FLOPs are the space's own count (cost metric `flops`).
    Only with algorithm ga. benchmarks/README.md ("Proxy fidelity") says how a value was chosen."""

    algorithm: str = "ga"
    hv_reference: list[float] = field(default_factory=list)
    population: int = 20
    generations: int = 100
    tournament_size: int = 3
    crossover_prob: float = 1.0
    mutation_rate: float = 0.1
    elites: int = 1
    constraint_handling: str = "penalty"
    max_rejection_draws: int = 100_000
    hall_of_fame_size: int = 10
    backend: str = "serial"
    workers: int | str = "auto"
    threads_per_worker: int = 1
    seed: int | None = None
    checkpoint_every: int = 1
    capacity_weight: float = 0.0


@dataclass
class DataConfig:
    """name: digits | cifar10 | cifar100 | imagefolder | imagenet16-120; root: where the files are;
    download: allow torchvision to download CIFAR; resolution: input size for digits / imagefolder.
    val_fraction: share of the training images held out for validation (seeded by split_seed); 0 means
    no validation split (nothing is then validated: the test set is never used in its place)."""

    name: str = "cifar10"
    root: str | None = None
    download: bool = False
    resolution: int | None = None
    batch_size: int = 128
    num_workers: int = 0
    val_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class SpaceConfig:
    """name: nb201 | ofa_mbv3. NB201: C, N size the network the proxy trains (paper 16, 5; smaller is a
    CPU proxy); full_C, full_N size the benchmark network that costs and fine-tuning use; full_resolution:
    the input size its FLOPs/params are counted at (null: data.resolution; give 32 when the data is read
    at a lower resolution for a cheaper proxy, so FLOPs and FLOPs budgets stay NAS-Bench-201's).
    OFA MobileNetV3: width_mult 1.0 | 1.2; resolutions: choices of the resolution gene (empty: the
    dataset's resolution); kernel_sizes / expand_ratios / depths: choices sampled (subsets of OFA's);
    resolution_mutate_prob (OFA: 0.5; ks/e/d mutate with search.mutation_rate); weights: local path of
    pre-trained OFA supernet weights (the full-size network inherits them; never downloaded)."""

    name: str = "nb201"
    C: int = 16
    N: int = 5
    full_C: int = 16
    full_N: int = 5
    full_resolution: int | None = None
    width_mult: float = 1.0
    resolutions: list[int] = field(default_factory=list)
    kernel_sizes: list[int] = field(default_factory=lambda: [3, 5, 7])
    expand_ratios: list[int] = field(default_factory=lambda: [3, 4, 6])
    depths: list[int] = field(default_factory=lambda: [2, 3, 4])
    resolution_mutate_prob: float = 0.5
    weights: str | None = None


@dataclass
class CostConfig(ConstraintConfig):
    """The main constraint (metric, budget, ...) plus `extra` constraints whose penalties add up;
    normalized: penalty (Omega - cost) / Omega instead of Omega - cost."""

    normalized: bool = False
    extra: list[ConstraintConfig] = field(default_factory=list)

    def constraints(self) -> list[ConstraintConfig]:
        main = ConstraintConfig(**{f.name: getattr(self, f.name) for f in fields(ConstraintConfig)})
        return [main, *self.extra]


@dataclass
class RefineConfig:
    """The refine stage (not in the paper; off by default): after the search, and before fine-tuning, a
    short list of at most `k` feasible candidates, one per isomorphism class, each trained for a short
    schedule and ranked by validation accuracy; the most accurate becomes the run's answer (results.json
    keeps the proxy's best beside it).

    shortlist: how many candidates each source gives, taken in this order until `k` are chosen:
    `fitness` (the highest fitness among the candidates the search scored), `capacity` (the
    highest-capacity feasible candidates the search scored) and `space_capacity` (the highest-capacity
    feasible archs of the whole space, where it can be enumerated, e.g. NB201). Capacity is FLOPs, or
    params under a FLOPs budget (every candidate then sits at the budget). Default: the 20 with the most
    capacity (the whole space's where it can be enumerated, else the search's): at the fast CPU profile
    the RMI adds nothing at the top of a budget (`benchmarks/results/refine_fig2-paper`: the mix chosen on
    the energy settings, RMI-only, is not significantly better than FLOPs-only on the 18 latency ones).
    epochs, data_fraction: the short schedule (`data_fraction` of the training images, seeded); the
    fine-tune recipe's optimiser (finetune.lr, momentum, weight_decay, nesterov). network: `reduced`
    (the proxy network, space.C/N) or `full`. val_fraction: the share of the training images held out
    for ranking when data.val_fraction is 0 (never the test split).
    table: a CSV of accuracies that serves the stage without training (`arch_index` or `arch_str`, and
    the column `table_column`, e.g. `cifar10.valid_acc_12ep` of NAS-Bench-201's 12-epoch file;
    `table_seconds_column` is recorded as the simulated training cost); null: train each."""

    enabled: bool = False
    k: int = 20
    shortlist: dict[str, int] = field(default_factory=lambda: {"space_capacity": 20, "capacity": 20})
    epochs: int = 2
    data_fraction: float = 0.25
    network: str = "reduced"
    val_fraction: float = 0.1
    table: str | None = None
    table_column: str = "cifar10.valid_acc_12ep"
    table_seconds_column: str | None = "cifar10.train_seconds_12ep"


@dataclass
class FinetuneConfig:
    """Fine-tune the winner after the search (`enabled`), see `python -m lightning_nas.finetune`.

    preset: nb201 (NAS-Bench-201 recipe: 200 epochs, batch 256, all batches) | quick (CPU: 3 epochs,
    batch 128, a quarter of the training batches per epoch); epochs, batch_size, limit_train_batches and
    limit_val_batches left at None take the preset's value. Optimiser: SGD lr 0.1 (cosine to 0 over the
    epochs), momentum 0.9 Nesterov, weight decay 5e-4. beta: weight of the RMI term (sum of 1 - CKA with
    the reference's taps on each batch) in the loss, 0 = plain cross-entropy. full_size: train the
    full-size network (space.full_C/full_N) rather than the proxy one. test_checkpoint: last | best
    (best validation accuracy; needs data.val_fraction > 0).
    resume: continue from out_dir/checkpoints/last.ckpt when it exists. prefer_feasible: when the winner
    is over budget take the best feasible candidate. export: write genotype JSON, state_dict, TorchScript
    and ONNX (onnx_opset) after training. nb201_table: NB201 accuracy table (CSV or official file) for the
    benchmark's own accuracy (nb201_field of nb201_dataset, default from data.name) side by side.
    out_dir: default RUN_DIR/finetune. seed: default the run's seed."""

    enabled: bool = False
    preset: str = "nb201"
    epochs: int | None = None
    batch_size: int | None = None
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    limit_test_batches: int | float = 1.0
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    beta: float = 0.0
    full_size: bool = True
    seed: int | None = None
    accelerator: str = "auto"
    precision: str = "32-true"
    num_workers: int | None = None
    test_checkpoint: str = "last"
    resume: bool = True
    prefer_feasible: bool = True
    export: bool = True
    onnx_opset: int = 17
    nb201_table: str | None = None
    nb201_dataset: str | None = None
    nb201_field: str = "test_acc"
    progress_bar: bool = True
    out_dir: str | None = None


@dataclass
class CacheConfig:
    """The persistent evaluation cache (SQLite): proxy scores kept across runs. enabled: consult and fill
    it; path: the file (default: evaluations.sqlite in reference.cache_dir, i.e. ~/.cache/lightning_nas)."""

    enabled: bool = True
    path: str | None = None


@dataclass
class RayConfig:
    """The ray backend (`search.backend ray`; install with `pip install -e '.[ray]'`).
    address: empty = start a local Ray on this machine; `auto` or `host:port` = join that cluster (its
    nodes receive this package through Ray's runtime_env; a node with another lightning_nas or torch
    version is refused). num_cpus / num_gpus: resources per candidate (default search.threads_per_worker
    CPUs, and 1 / proxy.candidates_per_gpu of a GPU with accelerator gpu). dashboard: start Ray's
    dashboard (bound to 127.0.0.1) when starting a local Ray."""

    address: str = ""
    num_cpus: float | None = None
    num_gpus: float | None = None
    dashboard: bool = False


@dataclass
class RunConfig:
    name: str = "search"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    search: GAConfig = field(default_factory=GAConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    run_dir: str | None = None
    threads: int | None = (
        None  # torch intra-op CPU threads (None: torch's default; 1 is faster on a busy machine)
    )
    runs_root: str = "runs"
    tb_logs: str = "tb_logs"
    resume: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_parser(prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=description, exit_on_error=False, default_meta=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML config file")
    parser.add_class_arguments(RunConfig, nested_key=None, as_group=False)
    return parser


def parse_config(
    argv: list[str] | None,
    prog: str = "lightning_nas.search",
    description: str = "",
    extra: Any = None,
    default_config: Path | None = QUICKSTART,
) -> tuple[RunConfig, Any]:
    """Parse argv into a RunConfig (and the namespace, for extra arguments added by `extra(parser)`).
    Without `--config`, `default_config` (the embedded quick start) is used."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser(prog, description)
    if extra is not None:
        extra(parser)
    if default_config is not None and not any(a == "--config" or a.startswith("--config=") for a in argv):
        argv = ["--config", str(default_config), *argv]
    for path in config_files(argv):
        read_config_file(path)
    try:
        ns = parser.parse_args(argv)
        init = parser.instantiate(ns)
    except (argparse.ArgumentError, TypeError, ValueError) as err:
        raise ConfigError(parse_message(" ".join(str(err).split()))) from None
    fields = {k: init[k] for k in RunConfig.__dataclass_fields__}
    return RunConfig(**fields), init


def config_files(argv: list[str]) -> list[str]:
    """The `--config FILE` / `--config=FILE` values in argv."""
    files = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]
    return files + [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]


def read_config_file(path: str) -> dict[str, Any]:
    """A config file's mapping of sections; a one-line ConfigError when it is missing, not YAML, empty or
    not a mapping (of mappings)."""
    import yaml

    file = Path(path).expanduser()
    try:
        data = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {' '.join(str(err).split())}") from None
    if data is None:
        raise ConfigError(f"config file {path} is empty; give a YAML mapping such as 'search: {{population: 20}}'")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a YAML mapping of sections, got a {type(data).__name__}")
    sections = [f.name for f in fields(RunConfig) if is_dataclass(f.default_factory)]  # type: ignore[arg-type]
    for key in sections:
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise ConfigError(f"config file {path}: section '{key}' must be a mapping of keys, got {data[key]!r}")
    return data


_EXPECTED = re.compile(r"""Parser key "(?P<key>[^"]+)": Expected a <class '(?P<type>\w+)'>\. Got value: (?P<value>.*)""")
_KINDS = {"int": "an integer", "float": "a finite number", "bool": "true or false", "str": "a string"}


def parse_message(message: str) -> str:
    """jsonargparse's `Parser key "k": Expected a <class 'float'>. Got value: nan` as
    `k must be a finite number, got 'nan'`; other messages unchanged."""
    m = _EXPECTED.fullmatch(message)
    if m is None or m["type"] not in _KINDS:
        return message
    return f"{m['key']} must be {_KINDS[m['type']]}, got {m['value']!r}"


def apply_threads(cfg: RunConfig) -> None:
    """Set torch's CPU thread count from `threads` (a process-wide setting, so only CLIs call it)."""
    set_torch_threads(cfg.threads)


def set_torch_threads(threads: int | None) -> None:
    """torch's CPU thread count for this process (None: leave it as it is)."""
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


def config_to_yaml(cfg: RunConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


# Keys older versions wrote into config.yaml that no longer exist (section, key): dropped when a
# recorded config is read back, so old run directories still report.
REMOVED_KEYS = (("proxy", "log_every_n_steps"),)


def config_from_yaml(path: Path) -> RunConfig:
    """A run's recorded config (keys in REMOVED_KEYS are dropped with a warning)."""
    import logging
    import tempfile

    import yaml

    data = read_config_file(str(path))
    dropped = [f"{s}.{k}" for s, k in REMOVED_KEYS if isinstance(data.get(s), dict) and data[s].pop(k, None) is not None]
    if not dropped:
        cfg, _ = parse_config(["--config", str(path)], default_config=None)
        return _complete(cfg, path)
    logging.getLogger(__name__).warning("%s: ignoring keys this version no longer has: %s", path, ", ".join(dropped))
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "config.yaml"
        clean.write_text(yaml.safe_dump(data, sort_keys=False))
        cfg, _ = parse_config(["--config", str(clean)], default_config=None)
    return _complete(cfg, path)


def _complete(cfg: RunConfig, path: Path) -> RunConfig:
    """`cfg` when no key that cannot be null is null; else a one-line ConfigError naming the file: a recorded
    config never holds such a null, so the file was damaged (cut short) or edited."""
    for section in fields(cfg):
        value = getattr(cfg, section.name)
        for f in fields(value) if is_dataclass(value) else []:
            if getattr(value, f.name) is None and "None" not in str(f.type):
                raise ConfigError(f"{path}: {section.name}.{f.name} is empty (null), which a recorded config never holds: "
                                  "the file is damaged or was edited; restore it from a copy")  # fmt: skip
    return cfg
