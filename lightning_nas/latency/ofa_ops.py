"""Once-for-All MobileNetV3's operators for a latency table, keyed as OFA's own latency tables key them
(`costs.ofa_latency_table.layer_keys`): the stem conv, every MBConv block configuration the space can
place (per stage: the first block and the later ones, each kernel size x expand ratio), the final 1x1
expand, the global pooling, the feature-mix conv and the classifier. The modules are taken from OFA
subnets (one per kernel size x expand ratio, at full depth), so they are OFA's own layers."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lightning_nas.costs.ofa_latency_table import layer_keys
from lightning_nas.latency.operators import Operator, TableSpec
from lightning_nas.spaces.ofa_mbv3.arch import MAX_DEPTH, N_BLOCKS, N_STAGES, OFAGenotype, blocks, widths


def _uniform(ks: int, e: int, r: int) -> OFAGenotype:
    return OFAGenotype((ks,) * N_BLOCKS, (e,) * N_BLOCKS, (MAX_DEPTH,) * N_STAGES, r)


def ofa_tables(space: Any) -> list[TableSpec]:
    """One table per resolution of the space (OFA writes one YAML per resolution)."""
    return [ofa_table(space, r) for r in space.resolutions]


def _layers(net: Any) -> list[Any]:
    """An OFA subnet's layers in the order of `layer_keys`."""
    return [net.first_conv, *net.blocks, net.final_expand_layer, net.global_avg_pool, net.feature_mix_layer, net.classifier]


def _inputs(g: OFAGenotype, width_mult: float) -> list[tuple[int, ...]]:
    """The input shape (without the batch) of each layer, in the order of `layer_keys`."""
    w = widths(width_mult)
    layers = blocks(g, width_mult)
    size = layers[-1].out_size
    return [(3, g.r, g.r), *((b.in_ch, b.size, b.size) for b in layers),
            (layers[-1].out_ch, size, size), (w.final_expand, size, size), (w.final_expand, 1, 1), (w.last_channel,)]  # fmt: skip


def ofa_table(space: Any, r: int) -> TableSpec:
    """The operators at resolution `r`; their modules are built only when timed (checking a table's keys
    builds no network)."""
    subnets: dict[tuple[int, int], list[Any]] = {}

    def layer(ks: int, e: int, i: int) -> Any:
        if (ks, e) not in subnets:
            subnets[(ks, e)] = _layers(space.subnet(_uniform(ks, e, r)))
        return subnets[(ks, e)][i]

    ops: dict[str, Operator] = {}
    for ks in space.kernel_sizes:
        for e in space.expand_ratios:
            g = _uniform(ks, e, r)
            keys = layer_keys(g, space.width_mult, space.num_classes)
            for i, (key, shape) in enumerate(zip(keys, _inputs(g, space.width_mult), strict=True)):
                if key not in ops:
                    ops[key] = Operator(key, lambda ks=ks, e=e, i=i: layer(ks, e, i), shape)
    shape = {"width_mult": space.width_mult, "num_classes": space.num_classes}
    return TableSpec(space.name, r, shape, list(ops.values()))


def ofa_counts(genotype: OFAGenotype, width_mult: float, num_classes: int) -> Counter[str]:
    return Counter(layer_keys(genotype, width_mult, num_classes))
