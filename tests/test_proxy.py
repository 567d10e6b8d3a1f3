"""The RMI proxy: CandidateModule loss, Lightning evaluator, determinism (seeded RNG for the whole
build + fit + score, the evaluator's thread count), BN mode when scoring, dead cells."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.nn import functional as F

from lightning_nas.config import ProxyConfig
from lightning_nas.rmi.candidate import CandidateModule
from lightning_nas.rmi.cka import linear_cka
from lightning_nas.rmi.evaluator import RMIEvaluator, candidate_seed
from lightning_nas.rmi.probe import ProbeBatch
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
DEAD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"  # output cut off from input


@pytest.fixture(scope="module")
def setup():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (16,), generator=g)
    teacher = NB201Space(num_classes=10, resolution=16, C=4, N=1)
    torch.manual_seed(1)
    ref_net = teacher.to_module(from_arch_str(GOOD))
    with torch.no_grad():
        _, feats = FeatureTaps(ref_net, teacher.tap_names(None))(x)
    space = NB201Space(num_classes=10, resolution=16, C=4, N=1)
    return space, ProbeBatch(x, y, list(range(16))), [f.detach() for f in feats]


class _Wrapped:
    """A space that builds the inner space's networks and passes them through `hook(net)`."""

    def __init__(self, inner: NB201Space, hook: Any) -> None:
        self.inner, self.hook = inner, hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def to_module(self, genotype: Any, proxy: bool = True) -> torch.nn.Module:
        return self.hook(self.inner.to_module(genotype, proxy))


def _with_dropout(net: torch.nn.Module) -> torch.nn.Module:
    """Dropout on the input: a stochastic layer in training and in train-mode scoring."""
    net.register_forward_pre_hook(lambda m, args: (F.dropout(args[0], 0.3, training=m.training),))
    return net


def test_training_step_loss_is_beta_weighted(setup):
    space, probe, feats = setup
    torch.manual_seed(0)
    module = CandidateModule(space.to_module(from_arch_str(GOOD)), space.tap_names(None), feats, beta=0.8)
    with torch.no_grad():  # the same forward (train-mode BN uses batch statistics), computed apart
        logits, feats_now = FeatureTaps(module.network, space.tap_names(None))(probe.x)
        cka = torch.stack([linear_cka(r, f) for r, f in zip(feats, feats_now, strict=True)])
    cka_loss, ce = (1 - cka).sum().item(), F.cross_entropy(logits, probe.y).item()
    loss = module.training_step((probe.x, probe.y), 0)
    assert loss.item() == pytest.approx(0.8 * cka_loss + 0.2 * ce, rel=1e-5)
    assert module.last_losses == pytest.approx(
        {"loss": loss.item(), "ce": ce, "cka_loss": cka_loss}, rel=1e-5
    )


def test_evaluator_trains_through_lightning_and_improves_cka(setup):
    space, probe, feats = setup
    untrained = RMIEvaluator(space, probe, feats, ProxyConfig(steps=0), seed=0).evaluate(from_arch_str(GOOD))
    trained = RMIEvaluator(space, probe, feats, ProxyConfig(steps=30), seed=0).evaluate(from_arch_str(GOOD))
    assert trained.rmi > untrained.rmi
    assert trained.rmi == pytest.approx(sum(trained.cka))
    assert len(trained.cka) == 3 and trained.seconds > 0
    assert set(trained.losses) == {"loss", "ce", "cka_loss"}


def test_same_candidate_batch_and_seed_give_the_same_score(setup):
    space, probe, feats = setup
    cfg = ProxyConfig(steps=10)
    a = RMIEvaluator(space, probe, feats, cfg, seed=0).evaluate(from_arch_str(GOOD))
    b = RMIEvaluator(space, probe, feats, cfg, seed=0).evaluate(from_arch_str(GOOD))
    c = RMIEvaluator(space, probe, feats, cfg, seed=1).evaluate(from_arch_str(GOOD))
    assert a.rmi == b.rmi and a.cka == b.cka
    assert c.rmi != a.rmi


def test_stochastic_layers_do_not_make_the_score_depend_on_global_rng(setup):
    space, probe, feats = setup
    evaluator = RMIEvaluator(_Wrapped(space, _with_dropout), probe, feats, ProxyConfig(steps=5), seed=0)
    scores = []
    for global_seed in (0, 12345):
        torch.manual_seed(global_seed)
        torch.rand(100)  # global RNG state consumed before the evaluation
        state = torch.get_rng_state()
        scores.append(evaluator.evaluate(from_arch_str(GOOD)))
        assert torch.equal(torch.get_rng_state(), state), "the global RNG is left as it was"
    assert scores[0].rmi == scores[1].rmi and scores[0].cka == scores[1].cka
    assert scores[0].losses == scores[1].losses


def test_candidate_trains_and_scores_at_the_evaluators_thread_count(setup):
    space, probe, feats = setup
    seen: list[int] = []

    def record(net: torch.nn.Module) -> torch.nn.Module:
        seen.append(torch.get_num_threads())
        net.register_forward_pre_hook(lambda _m, _args: seen.append(torch.get_num_threads()))
        return net

    before = torch.get_num_threads()
    threads = 2 if before == 1 else 1
    evaluator = RMIEvaluator(
        _Wrapped(space, record), probe, feats, ProxyConfig(steps=2), seed=0, threads=threads
    )
    default = RMIEvaluator(space, probe, feats, ProxyConfig(), seed=0)
    assert default.threads == before  # default: the process's count when built
    evaluator.evaluate(from_arch_str(GOOD))
    assert seen and set(seen) == {threads}  # build, 2 training steps and the scoring pass
    assert torch.get_num_threads() == before


def test_eval_bn_mode_scores_with_the_running_statistics(setup):
    space, probe, feats = setup
    g, steps = from_arch_str(GOOD), 5
    by_mode = {
        mode: RMIEvaluator(
            space, probe, feats, ProxyConfig(steps=steps, score_bn_mode=mode), seed=0
        ).evaluate(g)
        for mode in ("train", "eval")
    }
    cfg = ProxyConfig(steps=steps)
    with torch.random.fork_rng(devices=[]):  # the same candidate, trained by hand
        torch.manual_seed(candidate_seed(0, space.key(g)))
        net = space.to_module(g, proxy=True)
    taps = FeatureTaps(net, space.tap_names(g))
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    net.train()
    for _ in range(steps):
        logits, out = taps(probe.x)
        cka = torch.stack([linear_cka(r, f) for r, f in zip(feats, out, strict=True)])
        loss = cfg.beta * (1 - cka).sum() + (1 - cfg.beta) * F.cross_entropy(logits, probe.y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    manual = {}
    with torch.no_grad():
        for mode in ("eval", "train"):  # eval first: a train-mode pass updates the running statistics
            net.train(mode == "train")
            _, out = taps(probe.x)
            manual[mode] = [linear_cka(r, f).item() for r, f in zip(feats, out, strict=True)]
    assert sum(manual["eval"]) != pytest.approx(sum(manual["train"]), abs=1e-3)  # the modes differ here
    for mode in ("train", "eval"):
        assert by_mode[mode].cka == pytest.approx(manual[mode], rel=1e-4, abs=1e-6)


def test_disconnected_cell_scores_zero_never_nan(setup):
    space, probe, feats = setup
    result = RMIEvaluator(space, probe, feats, ProxyConfig(steps=5), seed=0).evaluate(from_arch_str(DEAD))
    assert result.rmi == 0.0 and result.cka == [0.0, 0.0, 0.0]


def test_candidate_seed_depends_on_seed_and_key_only():
    assert candidate_seed(0, "a") == candidate_seed(0, "a")
    assert candidate_seed(0, "a") != candidate_seed(1, "a")
    assert candidate_seed(0, "a") != candidate_seed(0, "b")


def test_candidate_logs_nothing_and_returns_its_losses(setup):
    """The candidate's Trainer has no logger: the module logs nothing, its losses come back with the score."""
    space, probe, feats = setup
    result = RMIEvaluator(space, probe, feats, ProxyConfig(steps=3), seed=0).evaluate(from_arch_str(GOOD))
    assert set(result.losses) == {"loss", "ce", "cka_loss"}
    assert result.losses["loss"] == pytest.approx(0.8 * result.losses["cka_loss"] + 0.2 * result.losses["ce"])
    from torch.utils.data import DataLoader

    from lightning_nas.quiet import quiet_lightning, silent_trainer
    from lightning_nas.rmi.evaluator import _RepeatedBatch

    torch.manual_seed(0)
    module = CandidateModule(space.to_module(from_arch_str(GOOD)), space.tap_names(None), feats)
    with quiet_lightning():
        trainer = silent_trainer(max_steps=3)
        trainer.fit(
            module, train_dataloaders=DataLoader(_RepeatedBatch(probe.x, probe.y, 3), batch_size=None)
        )
    assert dict(trainer.callback_metrics) == {}
    assert not hasattr(ProxyConfig(), "log_every_n_steps")
