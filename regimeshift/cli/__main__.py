"""``python -m regimeshift.cli.app``: the same as the ``regimeshift`` command."""
from regimeshift.cli.app import main

main()
