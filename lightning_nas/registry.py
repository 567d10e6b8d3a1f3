"""Name -> factory registries: spaces, cost models and datasets register themselves where they are
defined, and the config's `name` / `metric` picks one. An unknown name is a one-line ConfigError that
lists the valid ones.

    DATASETS = Registry("dataset")

    @DATASETS.register("digits")
    def _digits(cfg, ...): ...

A registry knows the modules that fill it (`providers`): they are imported on first use, so naming a
registry is cheap (no torch) and every entry is there when one is looked up."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from lightning_nas.errors import choice_error

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str, providers: Iterable[str] = ()) -> None:
        self.what = what
        self.providers = tuple(providers)
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, *names: str) -> Callable[[T], T]:
        """Decorator: register the object under each of `names` (a second registration of a name is a bug)."""

        def add(obj: T) -> T:
            for name in names:
                if name in self._entries and self._entries[name] is not obj:
                    raise RuntimeError(f"{self.what} {name!r} is registered twice")
                self._entries[name] = obj
            return obj

        return add

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self.providers:
                importlib.import_module(module)

    def names(self) -> tuple[str, ...]:
        """Registered names in the order of `providers` (then of registration), whatever was imported first."""
        self._load()
        rank = {module: i for i, module in enumerate(self.providers)}
        names = list(self._entries)
        return tuple(sorted(names, key=lambda n: rank.get(getattr(self._entries[n], "__module__", ""), len(rank))))

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            raise choice_error(self.what, name, self.names())
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries


__all__ = ["Registry"]
