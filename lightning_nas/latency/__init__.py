"""Latency on your own device: per-operator look-up tables (`python -m lightning_nas.latency build`),
their validation against end-to-end timing (`validate`), and the cost model `local_latency` that prices
a genotype as the sum of its operators' entries."""
