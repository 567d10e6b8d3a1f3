"""Reference models: the shared pre-trained ResNet-20, checkpoint formats, any nn.Module, train+cache."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_nas.config import ReferenceConfig
from lightning_nas.data import build_datamodule
from lightning_nas.errors import ConfigError
from lightning_nas.reference.loader import build_architecture, build_reference, cache_path, load_weights
from lightning_nas.reference.resnet_cifar import cifar_resnet
from lightning_nas.rmi.taps import FeatureTaps
from lightning_nas.training.classifier import ClassifierModule
from tests.conftest import shared_file
from tests.test_data import make_tree


@pytest.fixture(scope="module")
def resnet20_path() -> Path:
    return shared_file("reference", "resnet20-12fca82f.th")


def test_shared_resnet20_reaches_80_percent_on_jpeg_cifar10(resnet20_path, cifar10_jpeg_test):
    model = cifar_resnet("resnet20")
    load_weights(model, resnet20_path)
    dm = build_datamodule("imagefolder", root=str(cifar10_jpeg_test_tree(cifar10_jpeg_test)), batch_size=500)
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in dm.test_dataloader():
            correct += int((model(x).argmax(1) == y).sum())
            total += len(y)
    assert total == 10000
    assert correct / total >= 0.80  # 81.0 % measured (JPEG domain shift; 91.8 % on the original images)


def cifar10_jpeg_test_tree(root: Path) -> Path:
    """ImageFolder wants train/ too: point train at the test split (only the test split is evaluated)."""
    tree = root / "tree"
    if not tree.exists():
        tree.mkdir()
        (tree / "test").symlink_to(root / "test")
        (tree / "train").symlink_to(root / "test")
    return tree


def test_taps_are_layer_outputs(resnet20_path):
    model = cifar_resnet("resnet20")
    load_weights(model, resnet20_path)
    _, feats = FeatureTaps(model, ["layer1", "layer2", "layer3"])(torch.randn(2, 3, 32, 32))
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_plain_state_dict_and_lightning_checkpoint_load(tmp_path, resnet20_path):
    src = cifar_resnet("resnet20")
    load_weights(src, resnet20_path)
    plain = tmp_path / "plain.pt"
    torch.save(src.state_dict(), plain)
    lit = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in src.state_dict().items()}, "epoch": 3}, lit)
    for path in (plain, lit):
        dst = cifar_resnet("resnet20")
        load_weights(dst, path)
        assert all(torch.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values(), strict=True))


def test_checkpoint_errors_are_one_line(tmp_path, resnet20_path):
    with pytest.raises(ConfigError, match="not found"):
        load_weights(cifar_resnet("resnet20"), tmp_path / "missing.th")
    with pytest.raises(ConfigError, match="does not fit"):
        load_weights(cifar_resnet("resnet56"), resnet20_path)
    garbage = tmp_path / "garbage.th"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="not a readable PyTorch checkpoint"):
        load_weights(cifar_resnet("resnet20"), garbage)


def test_any_importable_module_is_a_reference():
    model = build_architecture("torchvision.models.resnet18", {"num_classes": 10}, 10, 3)
    _, feats = FeatureTaps(model, ["layer1", "layer2", "layer3"])(torch.randn(2, 3, 32, 32))
    assert len(feats) == 3
    with pytest.raises(ConfigError, match="unknown reference arch"):
        build_architecture("resnet21", {}, 10, 3)
    with pytest.raises(ConfigError, match="cannot import"):
        build_architecture("torchvision.models.nope", {}, 10, 3)
    with pytest.raises(ConfigError, match="not found in"):
        FeatureTaps(model, ["layer9"])


def test_trained_reference_is_cached_and_reused(tmp_path):
    dm = build_datamodule("digits", resolution=16)
    cfg = ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path))
    _, info = build_reference(cfg, dm, seed=0)
    assert info["trained_here"] and not info["cached"] and Path(info["checkpoint"]).exists()
    _, again = build_reference(cfg, dm, seed=0)
    assert again["cached"] and again["checkpoint"] == info["checkpoint"]
    _, other = build_reference(ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path)), dm, seed=1)
    assert other["checkpoint"] != info["checkpoint"] and not other["cached"]
    assert info["train_split"] == again["train_split"] == "train minus validation (train holdout 10% (split_seed 0))"
    assert info["test_acc_split"] == "test"


def test_reference_cache_key_holds_every_training_input(tmp_path, monkeypatch):
    a, b = make_tree(tmp_path / "a"), make_tree(tmp_path / "b", per_class=4)
    cfg = ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path / "cache"))

    def dm(root=a, **kw):  # noqa: ANN001, ANN003, ANN202
        return build_datamodule("imagefolder", root=str(root), **{"resolution": 8, **kw})

    base = cache_path(cfg, dm(), 0)
    assert cache_path(cfg, dm(), 0) == base  # same inputs, same file
    monkeypatch.chdir(tmp_path)
    assert cache_path(cfg, dm(root="a"), 0) == base  # the root is resolved: relative or absolute, one key
    assert cache_path(cfg, dm(batch_size=7, num_workers=1), 0) == base  # loader settings train nothing
    variants = [
        cache_path(cfg, dm(root=b), 0),  # another image tree at the same resolution
        cache_path(cfg, dm(resolution=12), 0),
        cache_path(cfg, dm(val_fraction=0.2), 0),
        cache_path(cfg, dm(split_seed=1), 0),
        cache_path(cfg, dm(), 1),
        *(cache_path(ReferenceConfig(**{**vars(cfg), k: v}), dm(), 0) for k, v in (
            ("train_lr", 0.05), ("train_batch_size", 64), ("train_epochs", 2), ("arch", "resnet32"),
            ("init_args", {"width": 2}))),
    ]
    assert len({base, *variants}) == len(variants) + 1
    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        assert cache_path(cfg, dm(), 0) != base  # trained at another thread count: another reference
    finally:
        torch.set_num_threads(threads)


def test_a_reference_trained_here_follows_the_seed_not_the_global_rng(tmp_path):
    dm = build_datamodule("digits", resolution=16)
    weights = []
    for i, draws in enumerate((0, 5)):
        torch.rand(draws)  # whatever the process did before
        model, info = build_reference(ReferenceConfig(train_epochs=1, cache_dir=str(tmp_path / str(i))), dm, seed=0)
        assert not info["cached"]
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_references_of_two_image_trees_are_not_shared(tmp_path):
    """The user-visible bug: a reference trained on one tree was reused for another at the same resolution."""
    cfg = ReferenceConfig(train_epochs=1, train_batch_size=4, cache_dir=str(tmp_path / "cache"))
    infos = []
    for name in ("a", "b"):
        dm = build_datamodule("imagefolder", root=str(make_tree(tmp_path / name, per_class=2, size=8)), resolution=8,
                              val_fraction=0.0, batch_size=3)
        infos.append(build_reference(cfg, dm, seed=0)[1])
        assert dm.batch_size == 3  # training the reference (batch 4) leaves the shared datamodule alone
    assert not infos[1]["cached"] and infos[0]["checkpoint"] != infos[1]["checkpoint"]
    assert infos[0]["train_split"] == "train minus validation (none)"


def test_classifier_module_trains_a_resnet_on_digits():
    dm = build_datamodule("digits", resolution=16, batch_size=64)
    module = ClassifierModule(cifar_resnet("resnet20"), 10, max_epochs=3)
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=dm)
    acc = trainer.test(module, datamodule=dm, verbose=False)[0]["test_acc"]
    assert acc > 0.5  # 10 classes: chance is 0.1
