"""What the tools around an `OFAMobileNetV3Space` ask it (`SearchSpace`'s tool members): the proxy's size,
score-table columns, gene labels for the report, and the latency tables of OFA's layout."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from lightning_nas.spaces.base import gene_values
from lightning_nas.spaces.ofa_mbv3.arch import OFAGenotype

if TYPE_CHECKING:
    from lightning_nas.latency.operators import TableSpec


class OFASpaceTools:
    """The tool members of `OFAMobileNetV3Space` (its dataclass fields give the settings used here)."""

    width_mult: float
    num_classes: int
    subnet: Callable[[OFAGenotype], nn.Module]

    def proxy_size(self) -> dict[str, Any]:
        return {"width_mult": self.width_mult}

    def table_fields(self, genotype: OFAGenotype) -> dict[str, Any]:
        return {}

    def gene_labels(self, data: Any) -> list[str]:
        """`ks=7`, `e=4`, ... for each gene of the genotype's JSON."""
        if isinstance(data, dict):
            return [f"{k}={v}" for k, vals in data.items() for v in (vals if isinstance(vals, list) else [vals])]
        return [str(v) for v in gene_values(data)]

    def label_order(self, labels: set[str]) -> list[str]:
        return sorted(labels)

    # ---- latency tables (one per resolution, OFA's layout) -------------------------------------------
    def latency_tables(self) -> list[TableSpec]:
        from lightning_nas.latency.ofa_ops import ofa_tables

        return ofa_tables(self)

    def latency_counts(self, genotype: OFAGenotype) -> tuple[int, Counter[str]]:
        from lightning_nas.latency.ofa_ops import ofa_counts

        return genotype.r, ofa_counts(genotype, self.width_mult, self.num_classes)

    def latency_network(self, genotype: OFAGenotype) -> tuple[nn.Module, tuple[int, ...]]:
        return self.subnet(genotype), (3, genotype.r, genotype.r)

    @classmethod
    def from_latency_shape(cls, shape: dict[str, Any], resolutions: Sequence[int]) -> Any:
        """The space a latency table's shape describes (None or missing: `latency build`'s defaults)."""
        res = tuple(dict.fromkeys(resolutions or [224]))
        return cls(num_classes=shape.get("num_classes") or 1000, resolution=max(res), resolutions=res,
                   width_mult=shape.get("width_mult", 1.0))  # fmt: skip
