"""Reference models: CIFAR ResNets, any importable nn.Module, checkpoint loading and training."""
