"""Search callbacks (installed as `lightning_nas.callbacks`; the folder sits at the repository's top
level): console progress, TensorBoard logging, the run report and fine-tuning of the winner. Each
implements the hooks of `lightning_nas.callbacks.base.SearchCallback` it needs."""

if __name__ != "lightning_nas.callbacks":  # one import name only: a second would register things twice
    raise ImportError(f"import this folder as lightning_nas.callbacks, not {__name__!r}")
