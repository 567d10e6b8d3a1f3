"""Export a fine-tuned winner (genotype JSON, state_dict, TorchScript, ONNX), checked against PyTorch.
`python -m lightning_nas.export RUN_DIR` runs it."""

DEFAULT_OPSET = 17  # ONNX opset written by default (finetune.onnx_opset, --opset)
