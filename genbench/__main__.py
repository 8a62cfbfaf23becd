"""``python -m genbench``: the same command line as the ``genbench`` script."""

from genbench.cli import app

app(prog_name="genbench")
