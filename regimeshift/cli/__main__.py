"""``python -m regimeshift.cli``: the same as the ``regimeshift`` command."""
from regimeshift.cli.app import main

main()
