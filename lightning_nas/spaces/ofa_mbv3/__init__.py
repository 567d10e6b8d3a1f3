"""The Once-for-All MobileNetV3 space: genotype operations (`space.py`), architecture arithmetic (`arch.py`),
and the shims that make the `ofa` package import on current torch (`compat.py`)."""
