"""lightning_nas: hardware-aware NAS by representation similarity (HW-EvRSNAS) on PyTorch Lightning.

Entry points: `python -m lightning_nas.search`, `.score`, `.finetune`, `.report`, `.export`, `.precompute`."""

__version__ = "0.1.0"
