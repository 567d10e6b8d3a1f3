"""The two identities of a proxy score (a leaf module: it imports nothing else of the package's scoring).

- **The exact identity**, `score_parts` / `parts_hash`: everything a score's float bits depend on, the
  reference's features and the probe batch hashed bit for bit, the thread count and the accelerator. It
  keys every stored score: the persistent cache, tables of scores and their shards. Two machines whose
  CPUs differ (an Intel Xeon and an AMD EPYC, AVX2 and AVX512 kernels) compute other bits from the same
  settings, so their exact identities differ. Never change what it hashes: that would invalidate every
  stored score.
- **The settings identity**, `settings_identity` / `settings_hash`: what a user chooses and what the
  data is, nothing computed in floating point: the reference checkpoint's sha256, taps and BN mode; the
  dataset (name, resolution, normalisation, train/validation split and a digest of its source files or
  raw bytes, never where it lies); the probe rule, the run's seed and the indices of the probe (and
  held-out) images; the proxy settings, the proxy network and `SCORE_VERSION`. It is the same on every
  machine. A table of scores is matched on it (`lightning_nas.tables.rmi_table`).

`numeric_identity` names what the exact identity adds to the settings: the float digests, threads,
accelerator, CPU model, torch's CPU capability and the torch and BLAS builds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

import torch

from lightning_nas.machine import machine

SCORE_VERSION = 2  # bump when the proxy's code changes what a score means (2: threads and accelerator)

# Proxy keys always hashed (accelerator too, see `score_hash`). A key added later is hashed only when it is
# set away from its default, so adding a key whose default keeps the old behaviour does not invalidate
# every cache (changing such a default, or what a key means, needs a SCORE_VERSION bump).
_PROXY_KEYS = ("steps", "beta", "lr", "momentum", "weight_decay", "score_bn_mode")
# Proxy keys that say where candidates run, not what a score is: never hashed.
# table: where scores come from (a table of scores computed under the same settings), not what they are.
_EXECUTION_KEYS = ("accelerator", "candidates_per_gpu", "table")  # accelerator: a key of its own in score_hash


def digest(*parts: Any) -> str:
    """24 hex digits of sha256 over the parts' canonical JSON (the format of every score hash)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


def tensors_digest(tensors: list[torch.Tensor]) -> str:
    """Digest of the tensors' float bits (machine-dependent in the last bits: part of the exact identity)."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:24]


def file_sha256(path: str | Path | None) -> str | None:
    """sha256 of a file's bytes; None when there is no such file."""
    if not path or not Path(path).expanduser().is_file():
        return None
    h = hashlib.sha256()
    with open(Path(path).expanduser(), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def proxy_signature(proxy: Any) -> dict[str, Any]:
    """The proxy settings that change what a score is (execution keys left out, later keys only when set)."""
    settings = asdict(proxy) if is_dataclass(proxy) else dict(proxy)
    defaults = {f.name: _default(f) for f in fields(proxy)} if is_dataclass(proxy) else {}
    settings = {k: v for k, v in settings.items() if k not in _EXECUTION_KEYS}
    return {k: v for k, v in settings.items() if k in _PROXY_KEYS or k not in defaults or v != defaults[k]}


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default


def resolve_accelerator(name: str) -> str:
    """The device kind a proxy `accelerator` setting trains on here, as Lightning picks it: `auto` and
    `gpu` are cuda (or mps) when there is one, `auto` is cpu otherwise."""
    name = str(name).lower()
    if name in ("auto", "gpu"):
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
    return "cpu" if name == "auto" else name


# ---- the exact identity ---------------------------------------------------------------------------------
def score_hash(*args: Any, threads: int) -> str:
    """Hash of everything a score depends on: `parts_hash(score_parts(...))`, same arguments."""
    return parts_hash(score_parts(*args, threads=threads))


def score_parts(
    space: Any,
    reference_features: list[torch.Tensor],
    probe_digest: str,
    proxy: Any,
    seed: int,
    reference_info: Any = None,
    *,
    threads: int,
) -> dict[str, Any]:
    """Everything a score depends on: the reference's features on the probe batch (its weights,
    taps and BN mode as they act), the probe batch, the proxy settings, the seed (candidate init), the
    proxy network's size, `threads` (torch's CPU thread count while a candidate trains: pass the
    evaluator's, `RMIEvaluator.threads`) and the device kind the proxy's accelerator resolves to here
    (always, default or not: `auto` on a machine without a GPU is the same key as `cpu`).
    `reference_info` (arch, taps) is added for readability of collisions only. A table of scores
    records these parts, so a mismatch can name what differs."""
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    settings = asdict(proxy) if is_dataclass(proxy) else dict(proxy)
    return {
        "score_version": SCORE_VERSION,
        "proxy_network": space.proxy_signature(),
        "reference_features": tensors_digest(reference_features),
        "probe": probe_digest,
        "proxy": proxy_signature(proxy),
        "seed": seed,
        "runtime": {"threads": int(threads), "accelerator": resolve_accelerator(settings.get("accelerator", "cpu"))},
        "reference": {k: v for k, v in (reference_info or {}).items() if k in ("arch", "taps", "bn_mode")},
    }


def parts_hash(parts: dict[str, Any]) -> str:
    """The score hash of `score_parts` (their values in order: the key format of every stored score)."""
    return digest(*parts.values())


def run_score_parts(scorer: Any, space: Any) -> dict[str, Any]:
    """`score_parts` of the scores a run's scorer computes (its evaluator's threads and accelerator)."""
    ev = scorer.evaluator
    reference = scorer.info.get("reference")
    features, probe = ev.reference_features, scorer.probe.digest()
    if ev.heldout is not None:  # scored on a second batch: it and the reference's features on it count too
        features, probe = [*features, *ev.heldout_features], f"{probe}+{ev.heldout.digest()}"
    return score_parts(space, features, probe, ev.cfg, ev.seed, reference, threads=ev.threads)


# ---- the settings identity ------------------------------------------------------------------------------
def settings_identity(
    space: Any, proxy: Any, seed: int, reference_info: dict[str, Any], data: dict[str, Any], probe: dict[str, Any],
    probe_indices: list[int], heldout_indices: list[int] | None,
) -> dict[str, Any]:
    """What a score means, the same on every machine. `reference_info`: the reference's arch, taps, BN mode
    and the file its weights came from (a given checkpoint or one trained here; None: not saved);
    `data`: the datamodule's `content_identity()`; `probe`: the probe rule (pool, batch size, augment)."""
    checkpoint = reference_info.get("checkpoint")
    return {
        "score_version": SCORE_VERSION,
        "proxy_network": space.proxy_signature(),
        "proxy": proxy_signature(proxy),
        "seed": seed,
        "reference": {
            **{k: reference_info.get(k) for k in ("arch", "taps", "bn_mode")},
            "checkpoint_sha256": file_sha256(checkpoint),
        },
        "data": dict(data),
        "probe": {**{k: probe[k] for k in ("pool", "batch_size", "augment")}, "indices": sorted(int(i) for i in probe_indices)},
        "heldout": None if heldout_indices is None else {"indices": sorted(int(i) for i in heldout_indices)},
    }


def settings_hash(settings: dict[str, Any]) -> str:
    return digest(settings)


def numeric_identity(parts: dict[str, Any]) -> dict[str, Any]:
    """What the exact identity `parts` adds to the settings on this machine: the float digests of the
    reference features and probe batch, threads, accelerator, the CPU, and the torch and BLAS builds."""
    return {
        "reference_features": parts["reference_features"],
        "probe": parts["probe"],
        **parts["runtime"],
        **machine(),
        "torch": torch.__version__,
    }
