"""Export a fine-tuned winner (genotype JSON, state_dict, TorchScript, ONNX), checked against PyTorch.
`python -m lightning_nas.export RUN_DIR` runs it."""
