"""The report page in a real browser: headless Chromium opens it from disk, with no network,
takes a screenshot and dumps the DOM after the load event. No console message may appear, and
every figure must have loaded (each <img>'s onload handler writes its naturalWidth into the
DOM; onerror marks it failed)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.cli.reproduce import train_command
from chainrule.train.report import write_report

from .report_helpers import Page, copy_run, tiny_png, write_health

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install "
                       "chromium chromium-driver)"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]
pytest.importorskip("jinja2", reason="the report page needs Jinja2 (chainrule[report])")


def open_in_chromium(page: Path, tmp: Path) -> tuple[Page, str, Path]:
    """(the DOM after load, Chromium's stderr, the screenshot) of ``page``."""
    shot = tmp / "screenshot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,2000",
           f"--screenshot={shot}", "--enable-logging=stderr", "--v=0", "--dump-dom",
           page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return Page(done.stdout), done.stderr, shot


def console_lines(stderr: str) -> list[str]:
    """Chromium's log lines for the page's console (messages, errors, uncaught exceptions)."""
    return [line for line in stderr.splitlines()
            if ":CONSOLE" in line or "Uncaught" in line]


def figure_states(dom: Page) -> dict[str, tuple[str, int]]:
    return {a.get("data-figure", a.get("src")): (a.get("data-status"), int(a.get("data-natural-width") or 0))
            for a in dom.find("img")}


@pytest.fixture
def run_dir(tmp_path_factory, tmp_path) -> Path:
    copy = copy_run(tmp_path_factory, tmp_path)
    write_health(copy)
    return copy


def test_the_page_loads_in_chromium_with_every_figure(run_dir, tmp_path):
    page = write_report(run_dir, command=train_command)
    dom, stderr, shot = open_in_chromium(page, tmp_path)
    assert console_lines(stderr) == []
    states = figure_states(dom)
    assert set(states) == {"curves.svg", "health.png"}
    for name, (status, width) in states.items():
        assert status == "loaded" and width > 0, (name, status, width)
    assert states["health.png"][1] == 24  # the fixture's own width
    assert "vanishing_gradient" in dom.text and "Model layers" in dom.text
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") > 0 and int.from_bytes(data[20:24], "big") > 0


def test_a_broken_figure_is_caught(run_dir, tmp_path):
    """The check above can fail: a PNG cut after its header loads as an error in the page,
    and a script error shows on the console."""
    (run_dir / "health.png").write_bytes(tiny_png()[:40])
    page = write_report(run_dir, command=train_command)
    text = page.read_text(encoding="utf-8")
    page.write_text(re.sub("</body>", "<img src=x onerror=\"undefinedFunction()\"></body>",
                           text), encoding="utf-8")
    dom, stderr, _ = open_in_chromium(page, tmp_path)
    assert figure_states(dom)["health.png"] == ("failed", 0)
    assert any("undefinedFunction" in line for line in console_lines(stderr))
