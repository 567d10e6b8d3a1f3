from lightning_nas.search.cli import main

if __name__ == "__main__":  # spawned worker processes import this module's package, never run it
    raise SystemExit(main())
