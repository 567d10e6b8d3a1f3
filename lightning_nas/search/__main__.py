import sys

if __name__ == "__main__":  # spawned worker processes import this module's package, never run it
    try:
        from lightning_nas.interrupt import run_command
        from lightning_nas.search.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the command line module is still loading
        print("interrupted before the run directory was written; nothing to resume", file=sys.stderr)
        raise SystemExit(130) from None
    run_command(main)
