from lightning_nas.interrupt import run_command
from lightning_nas.latency.cli import main

if __name__ == "__main__":
    run_command(main)
