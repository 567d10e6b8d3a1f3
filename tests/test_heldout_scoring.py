"""`proxy.score_on: heldout`: the trained candidate is scored on a second batch, disjoint from the probe
batch, against the reference's features on it; the score key and the run record say so."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from lightning_nas.config import ProbeConfig, ProxyConfig
from lightning_nas.data.base import DataSpec
from lightning_nas.errors import ConfigError
from lightning_nas.rmi.evaluator import RMIEvaluator
from lightning_nas.rmi.probe import ProbeBatch, heldout_seed, select_probe_batch
from lightning_nas.rmi.score_key import parts_hash, run_score_parts
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
OTHER = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(seed: int) -> ProbeBatch:
    g = torch.Generator().manual_seed(seed)
    return ProbeBatch(torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g), list(range(16)))


@pytest.fixture(scope="module")
def setup():
    space = NB201Space(num_classes=10, resolution=16, C=4, N=1)
    torch.manual_seed(1)
    ref = space.to_module(from_arch_str(GOOD))
    taps = FeatureTaps(ref, space.tap_names(None))

    def feats(b: ProbeBatch) -> list[torch.Tensor]:
        with torch.no_grad():
            return [f.detach() for f in taps(b.x)[1]]

    probe, other = _batch(0), _batch(1)
    return space, probe, feats(probe), other, feats(other)


def test_scoring_on_the_probe_batch_as_heldout_equals_the_paper_score(setup) -> None:
    space, probe, feats, other, other_feats = setup
    g = from_arch_str(OTHER)
    paper = RMIEvaluator(space, probe, feats, ProxyConfig(steps=5), seed=0).evaluate(g)
    same = RMIEvaluator(space, probe, feats, ProxyConfig(steps=5, score_on="heldout"), 0, heldout=probe,
                        heldout_features=feats).evaluate(g)  # fmt: skip
    held = RMIEvaluator(space, probe, feats, ProxyConfig(steps=5, score_on="heldout"), 0, heldout=other,
                        heldout_features=other_feats).evaluate(g)  # fmt: skip
    assert same.rmi == paper.rmi and same.cka == paper.cka
    assert held.losses == paper.losses  # the same training ...
    assert held.rmi != paper.rmi and all(0.0 <= c <= 1.0 + 1e-6 for c in held.cka)  # ... scored elsewhere


def test_the_evaluator_needs_a_heldout_batch_exactly_when_asked(setup) -> None:
    space, probe, feats, other, other_feats = setup
    with pytest.raises(ValueError, match="heldout"):
        RMIEvaluator(space, probe, feats, ProxyConfig(score_on="heldout"), seed=0)
    with pytest.raises(ValueError, match="heldout"):
        RMIEvaluator(space, probe, feats, ProxyConfig(), 0, heldout=other, heldout_features=other_feats)


def test_the_heldout_batch_shares_no_image_with_the_probe_batch() -> None:
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(60, 3, 8, 8, generator=g), torch.randint(0, 10, (60,), generator=g))
    spec = DataSpec(name="toy", num_classes=10, in_channels=3, resolution=8, crop_padding=1, flip=True)
    reference = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 10))
    cfg = ProbeConfig(pool=40, batch_size=10, augment=False)
    probe = select_probe_batch(data, spec, reference, cfg, seed=0)
    assert probe.indices == select_probe_batch(data, spec, reference, cfg, 0, exclude=frozenset()).indices
    held = select_probe_batch(data, spec, reference, cfg, heldout_seed(0), exclude=frozenset(probe.indices))
    assert len(held.indices) == 10 and not set(held.indices) & set(probe.indices)
    assert heldout_seed(0) != 0 and heldout_seed(0) != heldout_seed(1)
    with pytest.raises(ConfigError, match=r"probe.pool 55 exceeds the 50 training images of toy besides the 10"):
        select_probe_batch(data, spec, reference, ProbeConfig(pool=55, batch_size=10), 1, exclude=frozenset(probe.indices))


def test_a_heldout_run_draws_its_batch_records_it_and_keys_its_scores_apart(tiny_cfg) -> None:
    from lightning_nas.pipeline import build_problem, build_scorer

    paper_cfg = tiny_cfg("--threads", "1", "--cache.enabled", "false")
    held_cfg = tiny_cfg("--threads", "1", "--cache.enabled", "false", "--proxy.score_on", "heldout")
    paper, held = build_scorer(build_problem(paper_cfg)), build_scorer(build_problem(held_cfg))
    assert paper.evaluator.heldout is None and paper.info["heldout"] is None
    ev = held.evaluator
    assert ev.heldout is not None and ev.heldout_features is not None
    assert held.info["heldout"]["digest"] == ev.heldout.digest() != held.probe.digest()
    assert not set(held.info["heldout"]["indices"]) & set(held.probe.indices)
    assert held.probe.digest() == paper.probe.digest()  # the probe batch itself is unchanged
    assert len(ev.heldout_features) == len(ev.reference_features)
    assert all(not torch.equal(h, p) for h, p in zip(ev.heldout_features, ev.reference_features, strict=True))
    space = build_problem(held_cfg).space
    assert parts_hash(run_score_parts(held, space)) != parts_hash(run_score_parts(paper, space))
    assert "score_on" in run_score_parts(held, space)["proxy"] and "score_on" not in run_score_parts(paper, space)["proxy"]
