"""The one place that imports the `ofa` package (Once-for-All, mit-han-lab), made safe on current PyTorch.

What is broken in `ofa` 0.1 and how it is kept from leaking:
- it imports torchvision at import time: a missing torchvision becomes a one-line ConfigError;
- `ofa.utils.my_dataloader.my_data_loader` imports `torch._six` (removed in PyTorch 2): a small shim
  module with the names it used is registered before `ofa` is imported, only when the real one is gone;
- its latency tables, accuracy predictor and pre-trained weights download from the internet at run
  time: `download_url` is replaced in every loaded `ofa` module by a function that refuses (nothing
  downloads, ever); pre-trained supernet weights come from a path the user gives;
- it reads YAML with `yaml.load(fp)` (no Loader, an error on PyYAML >= 6): `safe_load_yaml` reads
  OFA-format files with the safe loader instead.
"""

from __future__ import annotations

import collections.abc
import functools
import importlib
import math
import sys
import types
from pathlib import Path
from typing import Any

from lightning_nas.errors import ConfigError

# OFA's MobileNetV3 supernet is defined over these choices; a space may sample a subset of them.
OFA_KERNEL_SIZES = (3, 5, 7)
OFA_EXPAND_RATIOS = (3, 4, 6)
OFA_DEPTHS = (2, 3, 4)
OFA_WIDTH_MULTS = (1.0, 1.2)


def _install_six_shim() -> None:
    """Register `torch._six` with the names old code imported from it, unless PyTorch still has it."""
    try:
        importlib.import_module("torch._six")
        return
    except ImportError:
        pass
    shim = types.ModuleType("torch._six")
    shim.string_classes = (str, bytes)  # type: ignore[attr-defined]
    shim.int_classes = int  # type: ignore[attr-defined]
    shim.inf = math.inf  # type: ignore[attr-defined]
    shim.nan = math.nan  # type: ignore[attr-defined]
    shim.container_abcs = collections.abc  # type: ignore[attr-defined]
    sys.modules["torch._six"] = shim
    torch = importlib.import_module("torch")
    torch._six = shim  # type: ignore[attr-defined]


def _refuse_download(url: str, *_args: Any, **_kwargs: Any) -> str:
    raise ConfigError(
        f"ofa tried to download {url}; lightning_nas never downloads: give the local path of the file "
        "(space.weights for OFA supernet weights, cost.table for latency tables)"
    )


def _block_downloads() -> None:
    """Replace `download_url` wherever an `ofa` module has bound it (now and for later imports)."""
    for name, module in list(sys.modules.items()):
        if (name == "ofa" or name.startswith("ofa.")) and hasattr(module, "download_url"):
            module.download_url = _refuse_download  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=1)
def ofa_modules() -> types.SimpleNamespace:
    """The few `ofa` names lightning_nas uses, imported once, patched, never downloading."""
    try:
        importlib.import_module("torchvision")
    except ImportError:
        raise ConfigError("the ofa_mbv3 space needs torchvision (the ofa package imports it); pip install torchvision") from None
    _install_six_shim()
    try:
        importlib.import_module("ofa.utils")
        _block_downloads()
        networks = importlib.import_module("ofa.imagenet_classification.elastic_nn.networks")
        plain = importlib.import_module("ofa.imagenet_classification.networks")
        utils = importlib.import_module("ofa.utils")
        layers = importlib.import_module("ofa.utils.layers")
    except ImportError as err:
        raise ConfigError(f"cannot import the ofa package (pip install ofa): {err}") from None
    _block_downloads()
    return types.SimpleNamespace(
        OFAMobileNetV3=networks.OFAMobileNetV3,
        MobileNetV3=plain.MobileNetV3,
        LinearLayer=layers.LinearLayer,
        count_net_flops=utils.count_net_flops,
        make_divisible=utils.make_divisible,
    )


def build_supernet(num_classes: int, width_mult: float = 1.0, dropout_rate: float = 0.0) -> Any:
    """OFA's MobileNetV3 supernet over all of OFA's choices (so that OFA's weights fit)."""
    if width_mult not in OFA_WIDTH_MULTS:
        raise ConfigError(f"unknown OFA width multiplier {width_mult!r}; valid: {', '.join(map(str, OFA_WIDTH_MULTS))}")
    ofa = ofa_modules()
    return ofa.OFAMobileNetV3(
        n_classes=num_classes,
        dropout_rate=dropout_rate,
        width_mult=width_mult,
        ks_list=list(OFA_KERNEL_SIZES),
        expand_ratio_list=list(OFA_EXPAND_RATIOS),
        depth_list=list(OFA_DEPTHS),
    )


def read_supernet_state(path: str | Path) -> dict[str, Any]:
    """The state_dict of an OFA supernet checkpoint (`{'state_dict': ...}` or bare), from a local path."""
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"OFA supernet weights not found: {path} (give the local path of e.g. ofa_mbv3_d234_e346_k357_w1.0)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a user error here
        raise ConfigError(f"cannot read OFA supernet weights {path}: {err}") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise ConfigError(f"{path} holds no state_dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def checkpoint_classes(state: dict[str, Any]) -> int | None:
    """Number of classes of the classifier stored in an OFA state_dict, if it has one."""
    for key in ("classifier.linear.weight", "classifier.linear.linear.weight"):
        if key in state:
            return int(state[key].shape[0])
    return None


def load_supernet(path: str | Path, width_mult: float = 1.0) -> Any:
    """OFA's supernet with the user's pre-trained weights (its classifier as stored)."""
    state = read_supernet_state(path)
    classes = checkpoint_classes(state) or 1000
    net = build_supernet(classes, width_mult)
    try:
        net.load_state_dict(state)
    except (RuntimeError, ValueError, AssertionError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"OFA weights {path} do not fit OFAMobileNetV3 (width_mult {width_mult}): {first}") from None
    return net


def count_flops(net: Any, resolution: int) -> float:
    """OFA's own FLOPs counter (multiply-accumulates of Conv2d and Linear), for checks."""
    return float(ofa_modules().count_net_flops(net, (1, 3, resolution, resolution)))


def safe_load_yaml(path: str | Path) -> Any:
    """Read a YAML file (e.g. an OFA latency look-up table) with PyYAML's safe loader."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    path = Path(path).expanduser()
    try:
        with open(path) as f:
            return yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
