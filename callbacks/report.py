"""Write report.md and the plots at the end of every search (`python -m lightning_nas.report` makes the
same report later). Records the device the search ran on (device.json) for the compute-cost table."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from lightning_nas.callbacks.base import SearchCallback

from lightning_nas.reporting.search_cost import EnergyAssumptions, device_name, device_type_of
from lightning_nas.run_dir import write_json

if TYPE_CHECKING:
    from lightning_nas.search.view import SearchView

DEVICE_JSON = "device.json"


class SearchReport(SearchCallback):
    def __init__(self, assumptions: EnergyAssumptions | None = None, stream: Any = None) -> None:
        self.assumptions = assumptions or EnergyAssumptions()
        self.stream = stream or sys.stdout

    def on_search_start(self, search: SearchView) -> None:
        # where the RMI proxy trains the candidates (proxy.accelerator, cpu by default)
        kind = device_type_of(getattr(search.cfg.proxy, "accelerator", "cpu"))
        write_json(
            search.run_dir / DEVICE_JSON,
            {"device_type": kind, "device": device_name(kind), "cpus": os.cpu_count()},
        )

    def on_search_end(self, search: SearchView, results: dict[str, Any]) -> None:
        from lightning_nas.reporting.report import write_report

        path = write_report(search.run_dir, self.assumptions)
        print(f"report: {path}", file=self.stream, flush=True)
