"""The RMI proxy: linear CKA, the fixed probe batch, the candidate LightningModule trained on it, the
evaluator that scores a genotype, and the persistent cache of scores."""
