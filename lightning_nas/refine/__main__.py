from lightning_nas.interrupt import run_command
from lightning_nas.refine.cli import main

run_command(main)
