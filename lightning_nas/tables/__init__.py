"""Benchmark tables indexed by NAS-Bench-201 index: accuracies, HW-NAS-Bench costs, the constrained oracle."""
