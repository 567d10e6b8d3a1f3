"""The genes of an `OFAMobileNetV3Space`, as plain functions beside the class: its settings checks, the
GA operators (OFA's evolution finder with an explicit `random.Random`), the genotype key and JSON."""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from lightning_nas.errors import ConfigError, check_path
from lightning_nas.spaces.ofa_mbv3 import compat as ofa_compat
from lightning_nas.spaces.ofa_mbv3.arch import MAX_DEPTH, N_BLOCKS, N_STAGES, OFAGenotype

if TYPE_CHECKING:
    from lightning_nas.spaces.ofa_mbv3.space import OFAMobileNetV3Space

_BLOCK_RE = re.compile(r"k(\d+)e(\d+)")


def _check_subset(what: str, values: tuple[int, ...], valid: tuple[int, ...]) -> None:
    bad = [v for v in values if v not in valid]
    if not values or bad:
        shown = bad[0] if bad else "[]"
        raise ConfigError(
            f"invalid {what} {shown!r}; valid: non-empty subset of {', '.join(map(str, valid))}"
        )


def check_settings(space: OFAMobileNetV3Space) -> None:
    """ConfigError naming the first setting of the space outside OFA's choices."""
    if space.in_channels != 3:
        raise ConfigError(
            f"the ofa_mbv3 space needs 3-channel images, got in_channels {space.in_channels}; valid: 3"
        )
    if space.width_mult not in ofa_compat.OFA_WIDTH_MULTS:
        raise ConfigError(
            f"invalid space.width_mult {space.width_mult!r}; valid: {', '.join(map(str, ofa_compat.OFA_WIDTH_MULTS))}"
        )
    _check_subset("space.kernel_sizes", space.kernel_sizes, ofa_compat.OFA_KERNEL_SIZES)
    _check_subset("space.expand_ratios", space.expand_ratios, ofa_compat.OFA_EXPAND_RATIOS)
    _check_subset("space.depths", space.depths, ofa_compat.OFA_DEPTHS)
    if any(r < 8 for r in space.resolutions):
        raise ConfigError(f"invalid space.resolutions {list(space.resolutions)}; each must be >= 8 pixels")
    if not 0.0 <= space.resolution_mutate_prob <= 1.0:
        raise ConfigError(
            f"space.resolution_mutate_prob must be in [0, 1], got {space.resolution_mutate_prob}"
        )
    if space.weights is not None:
        check_path("OFA supernet weights (space.weights)", space.weights)


def sample(space: OFAMobileNetV3Space, rng: random.Random) -> OFAGenotype:
    ks = tuple(rng.choice(space.kernel_sizes) for _ in range(N_BLOCKS))
    e = tuple(rng.choice(space.expand_ratios) for _ in range(N_BLOCKS))
    d = tuple(rng.choice(space.depths) for _ in range(N_STAGES))
    return OFAGenotype(ks, e, d, rng.choice(space.resolutions))


def mutate(space: OFAMobileNetV3Space, genotype: OFAGenotype, rng: random.Random, rate: float) -> OFAGenotype:
    r = rng.choice(space.resolutions) if rng.random() < space.resolution_mutate_prob else genotype.r
    ks, e, d = list(genotype.ks), list(genotype.e), list(genotype.d)
    for i in range(N_BLOCKS):
        if rng.random() < rate:
            ks[i] = rng.choice(space.kernel_sizes)
            e[i] = rng.choice(space.expand_ratios)
    for s in range(N_STAGES):
        if rng.random() < rate:
            d[s] = rng.choice(space.depths)
    return OFAGenotype(tuple(ks), tuple(e), tuple(d), r)


def crossover(a: OFAGenotype, b: OFAGenotype, rng: random.Random) -> tuple[OFAGenotype, OFAGenotype]:
    def mix(x: tuple[int, ...], y: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        pairs = [(q, p) if rng.random() < 0.5 else (p, q) for p, q in zip(x, y, strict=True)]
        return tuple(p for p, _ in pairs), tuple(q for _, q in pairs)

    ks1, ks2 = mix(a.ks, b.ks)
    e1, e2 = mix(a.e, b.e)
    d1, d2 = mix(a.d, b.d)
    (r1,), (r2,) = mix((a.r,), (b.r,))
    return OFAGenotype(ks1, e1, d1, r1), OFAGenotype(ks2, e2, d2, r2)


def key(genotype: OFAGenotype) -> str:
    """`r<res>:` then per stage its active blocks `k<ks>e<e>` joined by `.`, stages joined by `|`."""
    stages = [
        ".".join(
            f"k{genotype.ks[i]}e{genotype.e[i]}"
            for i in range(s * MAX_DEPTH, s * MAX_DEPTH + genotype.d[s])
        )
        for s in range(N_STAGES)
    ]
    return f"r{genotype.r}:" + "|".join(stages)


def from_json(data: Any, default_r: int) -> OFAGenotype:
    """The genotype of OFA's JSON (`image_size` for `r`; `default_r` when neither is given), unchecked."""
    if not isinstance(data, dict) or not {"ks", "e", "d"} <= set(data):
        raise ConfigError(
            f"invalid OFA genotype {data!r}; expected {{'ks': [20], 'e': [20], 'd': [5], 'r': int}}"
        )
    r = data.get("r", data.get("image_size", default_r))
    r = r[0] if isinstance(r, list | tuple) else r
    try:
        return OFAGenotype(
            tuple(int(x) for x in data["ks"]),
            tuple(int(x) for x in data["e"]),
            tuple(int(x) for x in data["d"]),
            int(r),
        )
    except (TypeError, ValueError):
        raise ConfigError(f"invalid OFA genotype {data!r}; genes must be integers") from None


def check_genotype(space: OFAMobileNetV3Space, g: OFAGenotype) -> None:
    """ConfigError naming the first gene outside the space's choices."""
    for what, values, count, valid in (
        ("kernel size", g.ks, N_BLOCKS, space.kernel_sizes),
        ("expand ratio", g.e, N_BLOCKS, space.expand_ratios),
        ("depth", g.d, N_STAGES, space.depths),
        ("resolution", (g.r,), 1, space.resolutions),
    ):
        if len(values) != count:
            raise ConfigError(f"OFA genotype needs {count} {what} genes, got {len(values)}")
        for v in values:
            if v not in valid:
                raise ConfigError(f"invalid OFA {what} {v!r}; valid: {', '.join(map(str, valid))}")


def parse_key(text: str) -> dict[str, Any]:
    """`r224:k3e4.k5e6|...` -> genotype JSON; inactive genes repeat the stage's last active block."""
    head, sep, body = text.partition(":")
    stages = body.split("|")
    if not sep or not head.startswith("r") or not head[1:].isdigit() or len(stages) != N_STAGES:
        raise ConfigError(
            f"invalid OFA genotype {text!r}; expected JSON or r<res>:k<ks>e<e>.k<ks>e<e>|... with {N_STAGES} stages"
        )
    ks: list[int] = []
    e: list[int] = []
    d: list[int] = []
    for stage in stages:
        found = [_BLOCK_RE.fullmatch(b) for b in stage.split(".")]
        if not found or not all(found) or len(found) > MAX_DEPTH:
            raise ConfigError(
                f"invalid OFA stage {stage!r} in {text!r}; expected 1..{MAX_DEPTH} blocks k<ks>e<e> joined by '.'"
            )
        blocks = [(int(m.group(1)), int(m.group(2))) for m in found if m]
        blocks += [blocks[-1]] * (MAX_DEPTH - len(blocks))
        ks += [k for k, _ in blocks]
        e += [x for _, x in blocks]
        d.append(len(found))
    return {"ks": ks, "e": e, "d": d, "r": int(head[1:])}
