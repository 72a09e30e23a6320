"""Benchmark (not a test): how long report.html takes to draw in headless Chromium.

Writes suite-format JUnit of N synthetic targets (``bench_report.write_target``:
60 cases x 6 modes x 2 devices, 720 cells each), renders report.html from them
as ``python -m compat report`` does, and opens it in headless Chromium with a
probe added at its end, which logs ``performance.now()`` (milliseconds since
the navigation started) two animation frames after the page's script ran:
by then the HTML and its data are read, the overview grid and every per-mode
block are built, and the first frame with them is laid out and painted. It
also logs what the page's script measured itself (``data-draw-ms``: from its
start until everything is built and laid out, the parts the browser lays out
only near the screen left out). The median of ``--repeat`` loads is printed
per size; ``--shots DIR`` keeps the screenshots. No limit is asserted here
(the issue's is 1 s at 40 targets); compare numbers measured in one run, on a
quiet machine.

    python bench/bench_html.py                    # 3, 13, 40 targets, median of 5 loads
    python bench/bench_html.py --targets 40 --repeat 9 --shots /tmp/shots
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_report import write_target  # noqa: E402

from compat.build import build_report  # noqa: E402
from compat.facts import resolve_facts  # noqa: E402
from compat.load import TargetOverrides, load_inputs  # noqa: E402
from compat.render_html import render_html  # noqa: E402
from suites.behaviours import BUILTIN  # noqa: E402

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
# Two frames after the page's script: the first frame with the page's content is done.
PROBE = """<script>
requestAnimationFrame(function () { requestAnimationFrame(function () {
  console.log("compat-drawn " + performance.now().toFixed(0) + " " +
    document.body.getAttribute("data-draw-ms"));
}); });
</script>"""
_DRAWN = re.compile(r"compat-drawn (?P<drawn>\d+) (?P<script>\d+)")


def render_page(folder: Path, count: int) -> Path:
    """report.html of ``count`` synthetic targets, written into ``folder``."""
    files = [write_target(folder, i, 60, 6, 2) for i in range(count)]
    report = build_report(load_inputs([str(f) for f in files], TargetOverrides()), BUILTIN)
    page = folder / f"report-{count}.html"
    page.write_text(render_html(report, resolve_facts(report)), encoding="utf-8")
    return page


def draw_times(page: Path, shot: Path, window: str = "1400,1000") -> tuple[int, int]:
    """(navigation start to drawn, the page script's own time) in ms, from a screenshot run."""
    probe = page.with_name(page.stem + "-probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    binary = shutil.which("chromium")
    if binary is None:
        raise SystemExit("chromium is not on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        run = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={window}",
                f"--screenshot={shot}",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    found = _DRAWN.search(run.stderr)
    if found is None:
        raise SystemExit(f"{page} did not report its draw time: did its script fail?")
    return int(found["drawn"]), int(found["script"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="3,13,40", help="comma-separated target counts")
    parser.add_argument("--repeat", type=int, default=5, help="loads per size; the median shows")
    parser.add_argument("--shots", type=Path, help="keep a 1400x1000 screenshot per size here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.targets.split(",")):
            folder = Path(tmp) / str(count)
            folder.mkdir()
            page = render_page(folder, count)
            shot = (args.shots or folder) / f"report-{count}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            runs = [draw_times(page, shot) for _ in range(args.repeat)]
            drawn = statistics.median(r[0] for r in runs)
            script = statistics.median(r[1] for r in runs)
            print(
                f"{count:>3} targets x 60 cases x 6 modes x 2 devices: drawn {drawn:.0f} ms "
                f"after navigation, the page's script {script:.0f} ms of it (median of "
                f"{args.repeat}: {', '.join(str(r[0]) for r in runs)} ms; "
                f"{page.stat().st_size / 1e6:.1f} MB of HTML)",
                flush=True,
            )


if __name__ == "__main__":
    main()
