"""`python -m lightning_nas.report`: see `lightning_nas.reporting.report`."""

from lightning_nas.reporting.report import main

if __name__ == "__main__":
    raise SystemExit(main())
