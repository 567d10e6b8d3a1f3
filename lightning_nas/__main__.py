"""`python -m lightning_nas COMMAND`: the same as the `lightning-nas` console entry."""

if __name__ == "__main__":
    from lightning_nas.cli import entry

    entry()
