"""Assemble a run from its config, cheap and checkable parts first (data → space → costs), then the
expensive ones (reference model → probe batch → reference features → RMI evaluator)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lightning_nas.backends import threads_per_candidate
from lightning_nas.config import ConstraintConfig, RunConfig
from lightning_nas.costs import CostModel, build_cost_model, constraint_key
from lightning_nas.costs.objective import Objective
from lightning_nas.data import ImageDataModule, build_datamodule
from lightning_nas.errors import ConfigError
from lightning_nas.reference.loader import build_reference
from lightning_nas.rmi.evaluator import RMIEvaluator
from lightning_nas.rmi.probe import ProbeBatch, heldout_seed, reference_features, select_probe_batch
from lightning_nas.rmi.score_key import settings_identity
from lightning_nas.search.fitness import capacity_term
from lightning_nas.settings import check_config
from lightning_nas.spaces import Genotype, SearchSpace, build_space


@dataclass
class Problem:
    """The cheap half: dataset, space, cost models and budgets, validated."""

    cfg: RunConfig
    datamodule: ImageDataModule
    space: SearchSpace
    objectives: list[Objective]
    flops: CostModel | None = None  # the space's FLOPs, for search.capacity_weight > 0

    @property
    def cost_models(self) -> list[CostModel]:
        return [o.model for o in self.objectives]

    @property
    def budgets(self) -> list[float | None]:
        """Each objective's hard budget (None: none, only with search.algorithm nsga2)."""
        return [o.budget for o in self.objectives]

    def costs(self, genotype: Genotype) -> list[float]:
        """The genotype's cost under every objective (cheap: run before any training)."""
        return [o.cost(genotype) for o in self.objectives]

    def capacity(self, genotype: Genotype) -> float:
        """The fitness's capacity term, search.capacity_weight * log10(MFLOPs) (0 when the weight is 0)."""
        if self.flops is None:  # built exactly when the weight is not 0
            return 0.0
        return capacity_term(self.cfg.search.capacity_weight, self.flops.cost(genotype))


@dataclass
class Scorer:
    """The expensive half: what the RMI proxy needs, and a record of how it was made."""

    evaluator: RMIEvaluator
    probe: ProbeBatch
    info: dict[str, Any] = field(default_factory=dict)


ScorerFactory = Callable[[Problem], Scorer]  # what a search builds its scorer with (default: build_scorer)
_NOT_SCORER_INPUTS = ("table", "candidates_per_gpu")  # proxy keys that say where scores come from or run


def scorer_key(cfg: RunConfig) -> str:
    """Digest of everything `build_scorer` builds from: the seed, data, probe, reference, space and proxy
    sections and the thread count per candidate. Two configs with the same key get the same Scorer."""
    from lightning_nas.rmi.score_key import digest

    proxy = {k: v for k, v in asdict(cfg.proxy).items() if k not in _NOT_SCORER_INPUTS}
    sections = {name: asdict(getattr(cfg, name)) for name in ("data", "probe", "reference", "space")}
    return digest(cfg.seed, sections, proxy, threads_per_candidate(cfg))


class ScorerMemo:
    """A `ScorerFactory` that builds each scorer once per `scorer_key` and gives the same one to every later
    search with that key: for a process that runs many searches (benchmarks), where loading the images, the
    reference and the probe batch is the slow part of each run's setup. `Search(cfg, scorer=memo)`."""

    def __init__(self) -> None:
        self._built: dict[str, Scorer] = {}

    def __call__(self, problem: Problem) -> Scorer:
        key = scorer_key(problem.cfg)
        if key not in self._built:
            self._built[key] = build_scorer(problem)
        return self._built[key]

    def __len__(self) -> int:
        return len(self._built)


def build_problem(cfg: RunConfig, check_budgets: bool = True) -> Problem:
    check_config(cfg)  # every check, once, before the data and the space are built
    d = cfg.data
    dm = build_datamodule(d.name, d.root, d.download, d.resolution, d.batch_size, d.num_workers, d.val_fraction, d.split_seed)
    space = build_space(cfg.space, dm.spec)
    objectives = []
    for i, c in enumerate(cfg.cost.constraints()):
        key = constraint_key(i)
        model = build_cost_model(c, space, d.name, dm.spec.resolution, dm.spec.in_channels, key)
        if check_budgets and c.budget is not None:
            lowest = model.minimum()
            if lowest is not None and c.budget < lowest and not math.isclose(c.budget, lowest):
                raise ConfigError(
                    f"{key}.budget {c.budget:g} {model.unit} for {c.metric} is below the cheapest architecture in "
                    f"{space.name} ({lowest:.6g} {model.unit}); choose a budget >= {lowest:.6g}"
                )
        objectives.append(Objective(model, c.budget))
    check_hv_reference(cfg, objectives)
    flops = None
    if cfg.search.capacity_weight:
        flops = build_cost_model(ConstraintConfig(metric="flops", budget=None), space, d.name, dm.spec.resolution, dm.spec.in_channels)
    return Problem(cfg, dm, space, objectives, flops)


def check_hv_reference(cfg: RunConfig, objectives: list[Objective]) -> None:
    """An NSGA-II hypervolume reference cost at or below the cheapest architecture bounds nothing."""
    for value, o in zip(cfg.search.hv_reference[1:], objectives, strict=False):
        lowest = o.model.minimum()
        if lowest is not None and value <= lowest:
            raise ConfigError(
                f"search.hv_reference {o.name} {value:g} {o.unit} bounds no architecture: the cheapest in the space costs "
                f"{lowest:.6g} {o.unit}; give a value above it"
            )


def build_scorer(problem: Problem) -> Scorer:
    cfg = problem.cfg
    dm = problem.datamodule
    dm.setup()
    reference, ref_info = build_reference(cfg.reference, dm, cfg.seed)
    probe = select_probe_batch(dm.train_set(), dm.spec, reference, cfg.probe, cfg.seed, cfg.reference.bn_mode)
    feats = reference_features(reference, cfg.reference.taps, probe.x, cfg.reference.bn_mode)
    sample = problem.space.sample(random.Random(0))
    taps = problem.space.taps(sample)
    if len(taps) != len(feats):
        raise ConfigError(
            f"the reference taps {len(feats)} layers ({', '.join(cfg.reference.taps)}) but the space taps "
            f"{len(taps)} ({', '.join(t.name for t in taps)}); give reference.taps with the same count"
        )
    heldout, heldout_feats = None, None
    if cfg.proxy.score_on == "heldout":
        exclude = frozenset(probe.indices)
        heldout = select_probe_batch(dm.train_set(), dm.spec, reference, cfg.probe, heldout_seed(cfg.seed), cfg.reference.bn_mode, exclude)
        heldout_feats = reference_features(reference, cfg.reference.taps, heldout.x, cfg.reference.bn_mode)
    evaluator = RMIEvaluator(problem.space, probe, feats, cfg.proxy, cfg.seed, threads=threads_per_candidate(cfg),
                             heldout=heldout, heldout_features=heldout_feats)  # fmt: skip
    info = {
        "reference": ref_info,
        "probe": {"digest": probe.digest(), "indices": probe.indices, "pool": cfg.probe.pool, "size": cfg.probe.batch_size},
        "taps": {
            "reference": [{"name": n, "shape": list(f.shape[1:])} for n, f in zip(cfg.reference.taps, feats, strict=True)],
            "candidate": [{"name": t.name, "shape": list(t.shape)} for t in taps],  # of one sampled genotype
        },
        "threads_per_candidate": evaluator.threads,
        "heldout": None if heldout is None else {"digest": heldout.digest(), "indices": heldout.indices, "seed": heldout_seed(cfg.seed)},
        "accelerator": cfg.proxy.accelerator,
    }
    info["settings"] = settings_identity(
        problem.space, cfg.proxy, cfg.seed, ref_info, dm.content_identity(), asdict(cfg.probe), probe.indices,
        None if heldout is None else heldout.indices,
    )  # what the scores mean, the same on every machine (a table of scores is matched on it)
    return Scorer(evaluator, probe, info)
