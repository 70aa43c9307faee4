"""The ``chainrule`` console script: imports the CLI inside a guard so that a Ctrl-C while
chainrule (and NumPy) are still loading is one line and status 130, as at any later moment.

It lives outside the ``chainrule`` package on purpose: importing anything inside the package
first runs the package's own import, which is the window this guards.
"""
import sys


def main() -> None:
    try:
        from chainrule.cli import main as cli_main
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(cli_main())
