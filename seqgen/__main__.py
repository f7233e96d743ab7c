"""``python -m seqgen``: the `seqgen` command."""
from .cli.main import cli

if __name__ == "__main__":
    cli(prog_name="seqgen")
