"""Build the reference model: a CIFAR ResNet or any importable `nn.Module`, with weights from a
checkpoint (classic `{'state_dict': ...}` with `module.` prefixes, a plain state_dict, or a Lightning
checkpoint), or trained here with a Lightning Trainer and cached for later runs."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lightning_nas.config import ReferenceConfig
from lightning_nas.errors import ConfigError, one_line_reason
from lightning_nas.interrupt import fit
from lightning_nas.reference.resnet_cifar import DEPTHS, cifar_resnet

log = logging.getLogger(__name__)

OFA_MAX = "ofa_mbv3_max"  # the largest OFA MobileNetV3 subnet (ks 7, e 6, d 4); taps blocks.4/12/20


def build_architecture(arch: str, init_args: dict[str, Any], num_classes: int, in_channels: int) -> nn.Module:
    if arch in DEPTHS:
        return cifar_resnet(arch, num_classes, in_channels)
    if arch == OFA_MAX:  # init_args: weights (local OFA supernet checkpoint), width_mult
        from lightning_nas.spaces.ofa_mbv3.space import max_subnet

        unknown = sorted(set(init_args) - {"weights", "width_mult"})
        if unknown:
            raise ConfigError(f"unknown reference.init_args key {unknown[0]!r} for {OFA_MAX}; valid: weights, width_mult")
        return max_subnet(num_classes, in_channels, **init_args)
    module_name, _, attr = arch.rpartition(".")
    if not module_name:
        raise ConfigError(
            f"unknown reference arch {arch!r}; valid: {', '.join(DEPTHS)}, {OFA_MAX} or an import path pkg.module.Class"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot import reference arch {arch!r}: {err}") from None
    return factory(**init_args)


def clean_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Accept {'state_dict': ...} (classic or Lightning) or a bare state_dict; strip `module.`/`model.`."""
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else obj
    if not isinstance(state, dict):
        raise ConfigError(f"checkpoint holds a {type(state).__name__}, expected a state_dict")
    out = {}
    for k, v in state.items():
        for prefix in ("module.", "model."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


def unreadable_reason(err: BaseException) -> str:
    """Why `torch.load(..., weights_only=True)` failed, in a few words on one line: never torch's advice
    (to load with weights_only=False, to allowlist globals, to file an issue)."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = str(err)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"it holds a pickled {found.group(1)} object, not only tensors; save a state_dict instead"
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
    first = " ".join(text.split()).split(". ")[0].rstrip(".")
    if not first or "weights_only" in first or len(first) > 200:
        return type(err).__name__
    return f"{type(err).__name__}: {first}"


def read_checkpoint(path: Path) -> Any:
    """The file's content, loaded as tensors and plain containers only (never arbitrary pickles);
    ConfigError (one line) when it is not a readable PyTorch checkpoint."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch raises, the file is unreadable here
        reason = "an empty file" if path.is_file() and path.stat().st_size == 0 else unreadable_reason(err)
        raise ConfigError(f"reference checkpoint {path} is not a readable PyTorch checkpoint ({reason})") from None


def load_weights(model: nn.Module, path: str | Path, obj: Any = None) -> None:
    """Load the checkpoint at `path` (or its already loaded content `obj`) into `model`."""
    path = Path(path).expanduser()
    if obj is None:
        if not path.exists():
            raise ConfigError(f"reference checkpoint not found: {path}")
        obj = read_checkpoint(path)
    try:
        state = clean_state_dict(obj)
    except ConfigError as err:
        raise ConfigError(f"reference checkpoint {path}: {err}") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).splitlines()[0:2]
        raise ConfigError(f"checkpoint {path} does not fit the reference arch: {' '.join(first)}") from None


CACHE_KEY_VERSION = 4  # bump when the training recipe changes in a way the key does not show (4: seeded sampler)


def cache_key(cfg: ReferenceConfig, datamodule: Any, seed: int) -> dict[str, Any]:
    """Every input that changes a reference trained here: the data (name, spec, absolute root, the
    train/validation split), the architecture and its init_args, the training recipe, the seed and, as
    for proxy scores, the torch CPU thread count it trains at (floating-point sums depend on it)."""
    return {
        "version": CACHE_KEY_VERSION,
        "data": datamodule.identity(),
        "arch": cfg.arch,
        "init_args": cfg.init_args,
        "train_epochs": cfg.train_epochs,
        "train_lr": cfg.train_lr,
        "train_batch_size": cfg.train_batch_size,
        "seed": seed,
        "threads": torch.get_num_threads(),
    }


def cache_path(cfg: ReferenceConfig, datamodule: Any, seed: int, key: dict[str, Any] | None = None) -> Path:
    """The cached reference for `cache_key` (given, or computed): a readable prefix and a hash over the key."""
    key = key or cache_key(cfg, datamodule, seed)
    digest = hashlib.sha256(_canonical(key).encode()).hexdigest()[:16]
    spec = datamodule.spec
    arch = cfg.arch.rsplit(".", 1)[-1]
    name = f"{spec.name}-r{spec.resolution}-{arch}-s{seed}-e{cfg.train_epochs}-{digest}.pt"
    return Path(cfg.cache_dir).expanduser() / "references" / name


def train_reference(
    model: nn.Module, datamodule: Any, cfg: ReferenceConfig, seed: int, threads: int | None = None
) -> float:
    """Train on the training split with a Lightning Trainer (batch size `cfg.train_batch_size`; the
    datamodule itself is left as it is: it may be shared with a fine-tune); returns the test top-1 (%).

    The weights are a function of the initial weights, the data, `cfg`, `seed` and the torch thread count
    (`threads`, None: the current one, held fixed throughout; `cache_key` records it): the batch order and
    augmentation come from a generator seeded by `seed` (not the global RNG, not the loader's worker
    count), with torch's deterministic algorithms on."""
    import lightning as L

    from lightning_nas.quiet import quiet_lightning, silent_trainer
    from lightning_nas.training.classifier import ClassifierModule
    from lightning_nas.training.determinism import reproducible

    module = ClassifierModule(model, datamodule.spec.num_classes, lr=cfg.train_lr, max_epochs=cfg.train_epochs)
    with quiet_lightning(), reproducible(threads):
        L.seed_everything(seed, verbose=False)
        train = datamodule.train_dataloader(batch_size=cfg.train_batch_size, seed=seed)
        trainer = silent_trainer(max_epochs=cfg.train_epochs)  # no validation: nothing is selected
        fit(trainer, module, train_dataloaders=train)  # Ctrl-C stays KeyboardInterrupt
        result = trainer.test(module, dataloaders=datamodule.test_dataloader(batch_size=cfg.train_batch_size), verbose=False)
    return 100.0 * float(result[0]["test_acc"])


def build_reference(cfg: ReferenceConfig, datamodule: Any, seed: int) -> tuple[nn.Module, dict[str, Any]]:
    """The reference model with weights, and a record of where they came from (for the run directory)."""
    spec = datamodule.spec
    with torch.random.fork_rng(devices=[]):  # the initial weights follow the seed, not the global RNG state
        torch.manual_seed(seed)
        model = build_architecture(cfg.arch, cfg.init_args, spec.num_classes, spec.in_channels)
    info: dict[str, Any] = {"arch": cfg.arch, "taps": list(cfg.taps), "bn_mode": cfg.bn_mode}
    if cfg.checkpoint:
        load_weights(model, cfg.checkpoint)
        info["checkpoint"] = str(Path(cfg.checkpoint).expanduser())
        return model, info
    key = cache_key(cfg, datamodule, seed)
    path = cache_path(cfg, datamodule, seed, key)
    if path.exists():
        cached = _load_cached(model, path, key)
        if cached is not None:
            info.update(checkpoint=str(path), trained_here=True, cached=True, **cached, **_splits(datamodule))
            return model, info
        with torch.random.fork_rng(devices=[]):  # the same initial weights as a first training
            torch.manual_seed(seed)
            model = build_architecture(cfg.arch, cfg.init_args, spec.num_classes, spec.in_channels)
    log.info("training reference %s on %s for %d epochs (cached at %s)", cfg.arch, spec.name, cfg.train_epochs, path)
    start = time.perf_counter()
    acc = train_reference(model, datamodule, cfg, seed, threads=key["threads"])
    record = {"state_dict": model.state_dict(), "test_acc": acc, "epochs": cfg.train_epochs, "seed": seed, "key": key}
    saved = _save_cached(record, path)
    info.update(checkpoint=str(path) if saved else None, trained_here=True, cached=False, test_acc=acc)
    info.update(train_seconds=time.perf_counter() - start, threads=key["threads"], **_splits(datamodule))
    return model, info


def _canonical(key: Any) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def _load_cached(model: nn.Module, path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """Load a reference cached under `key` into `model` and return its metadata; None (after one warning)
    when the file is unreadable, damaged or was written for another key: it is then retrained."""
    try:
        obj = read_checkpoint(path)
        if not isinstance(obj, dict) or "state_dict" not in obj:
            raise ConfigError(f"{path} holds no state_dict")
        if _canonical(obj.get("key")) != _canonical(key):
            raise ConfigError(f"{path} was written for another cache key")
        load_weights(model, path, obj)
        acc = obj.get("test_acc")
        if acc is not None and not isinstance(acc, float):
            raise ConfigError(f"{path} records a test accuracy of type {type(acc).__name__}")
    except ConfigError as err:
        log.warning("cached reference is unusable: %s; training it again", err)
        return None
    return {"test_acc": acc, "threads": key["threads"]}


def _save_cached(record: dict[str, Any], path: Path) -> bool:
    """Write the trained reference atomically (a temporary file of this process, then a rename), so a
    concurrent run or a kill never leaves a partial file under the cached name. A folder that cannot be
    written (read-only, disk full) costs only the cache: one warning, and the next run trains again."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(record, tmp)
        tmp.replace(path)
    except (OSError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.warning(
            "cannot cache the trained reference at %s (%s): it will be trained again next run", path, one_line_reason(err)
        )
        return False
    return True


def _splits(datamodule: Any) -> dict[str, str]:
    """Which images a reference trained here saw: the training split (the validation holdout excluded)
    for training, the test split for its reported accuracy."""
    return {"train_split": f"train minus validation ({datamodule.val_split})", "test_acc_split": "test"}
