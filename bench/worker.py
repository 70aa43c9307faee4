"""A fresh process for one measurement: ``python -m bench.worker '<json>'``.

The JSON names the measurement (``kind``, see ``bench.workloads.MEASURES``), the library and
its parameters; the worker imports only that library, runs the measurement and prints its
result as one JSON line (the last line of its output).
"""
from __future__ import annotations

import json
import sys


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python -m bench.worker '{\"kind\": ..., \"lib\": ..., "
                         "\"params\": {...}}'")
    spec = json.loads(argv[0])
    from .workloads import measure
    print(json.dumps(measure(spec["kind"], spec["lib"], spec["params"])), flush=True)


if __name__ == "__main__":
    main()
