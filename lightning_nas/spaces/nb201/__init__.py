"""The NAS-Bench-201 cell space: genotype operations and indices (`space.py`), the network (`network.py`)."""
