"""The RMI proxy: linear CKA (`cka`), the layer taps (`taps`), the fixed probe batch (`probe`), the
beta-weighted RMI + CE loss (`loss`), the candidate LightningModule trained on the probe batch
(`candidate`), the evaluator that scores a genotype (`evaluator`), and the persistent cache of scores
(`cache`, whose docstring states when two scores are the same)."""
