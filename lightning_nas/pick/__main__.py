from lightning_nas.pick.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
