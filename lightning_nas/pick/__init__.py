"""Pick an architecture from a Pareto front after the search: `python -m lightning_nas.pick`."""
