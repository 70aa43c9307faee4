"""``python -m bench``: the issue #9 suite (see bench/run.py)."""
from bench.run import main

main()
