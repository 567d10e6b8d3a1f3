"""Benchmark tables indexed by NAS-Bench-201 index: accuracies (nb201_accuracy), HW-NAS-Bench costs
(hw_nas_bench), both read through one NB201-indexed CSV reader (nb201_csv), and the constrained oracle."""
