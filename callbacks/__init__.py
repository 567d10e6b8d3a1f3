"""Lightning callbacks that also hear the search's events (see `callbacks.base.SearchCallback`):
console progress, TensorBoard logging, the run report and fine-tuning of the winner."""
