"""Running the command line in-process and checking its error contract."""
from __future__ import annotations

import chainrule.cli as cli


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``chainrule argv`` in-process: (exit status, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's errors and --help
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, f"exit status {code}, stderr {err!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {lines}"
    assert "Traceback" not in err
    assert lines[0].startswith("chainrule")
    assert "error:" in lines[0]
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"
