from lightning_nas.export.cli import main
from lightning_nas.interrupt import run_command

run_command(main)
