"""The search: the DEAP genetic algorithm, fitness (RMI + penalty), the run's records, checkpoints and
results. `python -m lightning_nas.search` runs it (see `__main__.py`)."""
