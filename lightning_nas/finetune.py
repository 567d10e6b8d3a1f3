"""`python -m lightning_nas.finetune`: see `lightning_nas.training.finetune`."""

from lightning_nas.training.finetune import main

if __name__ == "__main__":
    raise SystemExit(main())
