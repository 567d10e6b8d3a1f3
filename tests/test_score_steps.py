"""`proxy.score_steps`: one training scored after several steps. The score after step k equals the score of
a k-step run (same seed, same batch), the final score equals a run without it, and the intermediate scores
travel through the cache; the key is validated and hashed only when set."""

from __future__ import annotations

import pytest
import torch

from lightning_nas.config import ProxyConfig
from lightning_nas.errors import ConfigError
from lightning_nas.rmi.cache import EvalCache
from lightning_nas.rmi.evaluator import ProxyResult, RMIEvaluator
from lightning_nas.rmi.probe import ProbeBatch
from lightning_nas.rmi.score_key import proxy_signature
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.settings import check_score_steps
from lightning_nas.spaces.nb201.space import NB201Space, from_arch_str

REF = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
CAND = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def setup():
    space = NB201Space(num_classes=10, resolution=16, C=4, N=1)
    g = torch.Generator().manual_seed(0)
    probe = ProbeBatch(torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g), list(range(16)))
    torch.manual_seed(1)
    taps = FeatureTaps(space.to_module(from_arch_str(REF)), space.tap_names(None))
    with torch.no_grad():
        feats = [f.detach() for f in taps(probe.x)[1]]
    return space, probe, feats


@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_the_score_after_step_k_is_the_score_of_a_k_step_run(setup, bn_mode: str) -> None:
    space, probe, feats = setup
    g = from_arch_str(CAND)

    def run(steps: int, score_steps: list[int]) -> ProxyResult:
        cfg = ProxyConfig(steps=steps, score_steps=score_steps, score_bn_mode=bn_mode)
        return RMIEvaluator(space, probe, feats, cfg, seed=3).evaluate(g)

    both = run(6, [2, 4])
    assert set(both.rmi_at) == {2, 4}
    assert both.rmi_at[2] == pytest.approx(run(2, []).rmi, abs=1e-6)
    assert both.rmi_at[4] == pytest.approx(run(4, []).rmi, abs=1e-6)
    plain = run(6, [])
    assert both.rmi == pytest.approx(plain.rmi, abs=1e-6) and both.losses == pytest.approx(plain.losses, abs=1e-6)
    assert plain.rmi_at == {} and both.rmi_at[2] != both.rmi  # a score that moves with training


def test_intermediate_scores_survive_the_cache_and_old_rows_keep_their_checksum(tmp_path) -> None:
    with EvalCache(tmp_path / "c.sqlite") as cache:
        cache.put("nb201", "a", "h", ProxyResult(1.5, [0.5, 0.5, 0.5], {"ce": 1.0}, 2.0, {100: 1.25}))
        cache.put("nb201", "b", "h", ProxyResult(1.0, [0.3, 0.3, 0.4], {}, 1.0))
        assert cache.get("nb201", "a", "h").rmi_at == {100: 1.25}
        assert cache.get("nb201", "b", "h").rmi_at == {}
        cache.conn.execute("UPDATE scores SET rmi_at = '{\"100\": 9.0}' WHERE key = 'a'")  # tampered: dropped
        assert cache.get("nb201", "a", "h") is None


def test_score_steps_are_hashed_only_when_set_and_checked() -> None:
    assert "score_steps" not in proxy_signature(ProxyConfig())
    assert proxy_signature(ProxyConfig(steps=150, score_steps=[100]))["score_steps"] == [100]
    check_score_steps([50, 100], 150)
    for bad in ([150], [0], [100, 100], [True], [2.5]):
        with pytest.raises(ConfigError, match=r"proxy.score_steps must be distinct steps in 1\.\.149"):
            check_score_steps(bad, 150)  # type: ignore[arg-type]
