"""Does a table of scores (or a shard of one) serve a run? Matched on the settings identity, never on float bits.

- Another space, or other settings (checkpoint, taps, data, probe rule or indices, seed, proxy settings,
  proxy network, score version): refused in one line naming what differs.
- The same settings, the same exact identity (`score_hash`) on the same recorded CPU, capability, torch
  and BLAS build: served silently, bit for bit.
- The same settings on another machine (CPU or instruction set, thread count, accelerator, torch or
  BLAS build): served with one line naming both machines and quoting the agreement measured across
  machines (the provenance's `cross_machine`).

An older table records no settings identity: its settings are derived from its recorded config and score
parts, and the fields it never recorded (the data digest and normalisation, the probe's indices, the
machine) are listed as not compared. `data.root` is never part of the settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lightning_nas.errors import ConfigError, first_of
from lightning_nas.machine import describe
from lightning_nas.rmi.score_key import parts_hash, settings_hash

NOTICEABLE_TAU = 0.95  # below this Kendall tau across machines, the notice says rankings differ noticeably


@dataclass
class TableMatch:
    exact: bool  # the same exact identity: the table's scores are this machine's, bit for bit
    notice: str | None = None  # the one line shown when the table was computed on another machine
    not_compared: list[str] = field(default_factory=list)  # settings the (older) table does not record


def recorded_settings(provenance: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The settings identity a table or shard was computed under, and the fields it does not record (and
    that are therefore not compared). An older table's is derived from its config and score parts."""
    if "settings" in provenance:
        settings = provenance["settings"]
        if provenance.get("settings_hash") != settings_hash(settings) or _overlap(provenance["parts"]) != _overlap(settings):
            raise ConfigError("a table's provenance: its settings do not agree with its settings hash or score parts (edited by hand?)")
        return settings, []
    parts, config = provenance["parts"], provenance.get("config") or {}
    data, probe = config.get("data") or {}, config.get("probe") or {}
    reference = {k: (parts.get("reference") or {}).get(k) for k in ("arch", "taps", "bn_mode")}
    reference["checkpoint_sha256"] = (provenance.get("reference") or {}).get("checkpoint_sha256")
    heldout = (parts.get("proxy") or {}).get("score_on") == "heldout"
    settings = {
        "score_version": parts.get("score_version"),
        "proxy_network": parts.get("proxy_network"),
        "proxy": parts.get("proxy"),
        "seed": parts.get("seed"),
        "reference": reference,
        "data": {
            "name": data.get("name"),
            "resolution": data.get("resolution"),
            "split": {"val_fraction": data.get("val_fraction"), "split_seed": data.get("split_seed")} if data else None,
        },
        "probe": {k: probe.get(k) for k in ("pool", "batch_size", "augment")},
        "heldout": {} if heldout else None,
    }
    not_recorded = ["data.digest", "data.normalisation", "probe.indices"] + (["heldout.indices"] if heldout else [])
    for section in ("reference", "data", "probe"):  # what the older table did not record either (None)
        not_recorded += [f"{section}.{k}" for k, v in settings[section].items() if v is None]
    for k in ("score_version", "proxy_network", "proxy", "seed"):
        if settings[k] is None:
            not_recorded.append(k)
    return settings, not_recorded


def _overlap(identity: dict[str, Any]) -> dict[str, Any]:
    """The fields the score parts and the settings identity both hold (either may be given)."""
    reference = {k: (identity.get("reference") or {}).get(k) for k in ("arch", "taps", "bn_mode")}
    return _plain({**{k: identity.get(k) for k in ("score_version", "proxy_network", "proxy", "seed")}, "reference": reference})


def settings_differences(recorded: dict[str, Any], now: dict[str, Any], skip: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The settings that differ, as `name (recorded X, now Y)`, one level into each section; `skip`: the
    fields not compared (dotted names)."""
    out = []
    for section in sorted(set(recorded) | set(now)):
        if section in skip:
            continue
        a, b = _plain(recorded.get(section)), _plain(now.get(section))
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                name = f"{section}.{k}"
                if name not in skip and a.get(k) != b.get(k):
                    out.append(_difference(name, a.get(k), b.get(k)))
        elif a != b:
            out.append(_difference(section, a, b))
    return out


def _difference(name: str, a: Any, b: Any) -> str:
    if isinstance(a, list) and isinstance(b, list) and len(a) + len(b) > 12:  # e.g. the probe's indices
        return f"{name} ({len(set(a) - set(b))} of the {len(a)} recorded are not among the {len(b)} now)"
    return f"{name} (recorded {a!r}, now {b!r})"


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def match_table(
    provenance: dict[str, Any], where: Any, space_name: str, parts: dict[str, Any], settings: dict[str, Any],
    numeric: dict[str, Any],
) -> TableMatch:
    """Refuse (ConfigError, one line) a table of another space or other settings; else the match, with the
    notice to show when the table was computed on another machine. `parts`, `settings`, `numeric`: this
    run's exact, settings and numeric identities."""
    if provenance.get("space") != space_name:
        raise ConfigError(f"table of scores {where} is for space {provenance.get('space')!r}, the search is in {space_name!r}")
    if parts_hash(provenance["parts"]) != provenance.get("score_hash"):
        raise ConfigError(f"table of scores {where}: its provenance's parts do not give its score hash (edited by hand?)")
    recorded, not_recorded = recorded_settings(provenance)
    diff = settings_differences(recorded, settings, not_recorded)
    if diff:
        raise ConfigError(f"table of scores {where} was computed under other settings: {first_of(diff, 4)}")
    if provenance["score_hash"] == parts_hash(parts) and _same_machine(recorded_numeric(provenance), numeric):
        return TableMatch(exact=True, not_compared=not_recorded)
    return TableMatch(exact=False, notice=_notice(provenance, where, numeric, not_recorded), not_compared=not_recorded)


def _same_machine(then: dict[str, Any], now: dict[str, Any]) -> bool:
    """The same CPU, capability, torch and BLAS builds (an unrecorded CPU is never the same: the score hash
    alone does not tell; the fast table's hash matches on a CPU whose training kernels give other bits)."""
    return bool(then.get("cpu")) and all(_same(k, then.get(k), now.get(k)) for k in ("cpu", "cpu_capability", "torch", "blas"))


def recorded_numeric(provenance: dict[str, Any]) -> dict[str, Any]:
    """The machine a table was computed on (an older table records threads, accelerator and torch only)."""
    if "numeric" in provenance:
        return provenance["numeric"]
    runtime = provenance["parts"].get("runtime") or {}
    return {**runtime, "torch": (provenance.get("versions") or {}).get("torch")}


def _notice(provenance: dict[str, Any], where: Any, now: dict[str, Any], not_recorded: list[str]) -> str:
    then = recorded_numeric(provenance)
    machines = []
    if describe(then) != describe(now) or not then.get("cpu"):
        machines.append(f"on {describe(then)}, this run on {describe(now)}")
    for key, what in (("threads", "threads"), ("accelerator", "accelerator"), ("torch", "torch"), ("blas", "BLAS")):
        if then.get(key) is not None and not _same(key, then[key], now.get(key)):
            machines.append(f"{what} {then[key]}, this run {now.get(key)}")
    if not machines:
        machines.append("with other floating-point kernels than this run's")
    line = (
        f"table of scores {where}: computed under this run's settings {'; '.join(machines)}: served as it is "
        f"(its scores differ from this machine's in floating-point rounding only); {_agreement(provenance.get('cross_machine'))}"
    )
    if not_recorded:
        line += f"; not recorded by this older table, so not compared: {', '.join(not_recorded)}"
    return line


def _same(key: str, a: Any, b: Any) -> bool:
    """Equal; for torch, also a version recorded without its build tag (`2.14.1` and `2.14.1+cu130`)."""
    if key == "torch" and b is not None and ("+" in str(a)) != ("+" in str(b)):
        return str(a).split("+")[0] == str(b).split("+")[0]
    return a == b


def _agreement(measured: dict[str, Any] | list[dict[str, Any]] | None) -> str:
    """The agreement measured across machines (the least of several: the lowest Kendall tau)."""
    if isinstance(measured, list):
        measured = min(measured, key=lambda m: m["kendall_tau"]) if measured else None
    if not measured:
        return "the agreement across machines was not measured for this table"
    text = (
        f"measured across machines ({measured.get('between', 'two CPUs')}, {measured['archs']} archs): median |dRMI| "
        f"{measured['median_abs_delta']:.2g}, max {measured['max_abs_delta']:.2g}, Kendall tau {measured['kendall_tau']:.4f}"
    )
    if measured["kendall_tau"] < NOTICEABLE_TAU:
        text += f" (below {NOTICEABLE_TAU}: rankings differ noticeably across machines)"
    return text
