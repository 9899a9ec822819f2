"""The HTML reports fit a 1,280 px browser window (headless Chromium: no table wider than the
viewport) and ``tables.tex`` compiles with pdflatex. Skipped with the reason where Chromium or
TeX is missing; failed under CI=true, where .ci/run installs both."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from requirements import require
from seglab.report import document as doc
from seglab.report.latex import escape, write_tables

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(ROOT.glob("experiments/report_*/report.html"))
MEASURE = """<script>window.addEventListener('load', () => {
  const vw = document.documentElement.clientWidth;
  const rights = [...document.querySelectorAll('table')].map(t => t.getBoundingClientRect().right);
  document.body.setAttribute('data-measure', JSON.stringify({vw: vw, scroll: document.documentElement.scrollWidth,
                                                             tables: rights}));
});</script>"""


def _wide_blocks() -> list:
    header = ["Method", "kind", "n", "seeds"] + [f"Metric number {i} ↑" for i in range(14)]
    rows = [[f"DEC(latent_dim={d}, hidden_dims=[500,500,2000])", "deep", "5", "0,1,2,3,4"]
            + [f"**{0.5 + i / 100:.3f} ± 0.012 (n=4)**" for i in range(14)] for d in (5, 10, 20)]
    return [doc.Heading(1, "wide"), doc.Table(header, rows, caption="A wide results table: 100% & more_")]


def _measure(page: Path, tmp_path: Path) -> dict:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    require(browser is not None, "needs Chromium for the 1,280 px render (apt-get install chromium)")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                          "--hide-scrollbars", "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    found = re.search(r'data-measure="([^"]*)"', out.stdout)
    assert found, "the page did not finish loading"
    return json.loads(found.group(1).replace("&quot;", '"'))


def _assert_fits(measure: dict) -> None:
    assert measure["vw"] == 1280 and measure["tables"]
    too_wide = [r for r in measure["tables"] if r > measure["vw"]]
    assert not too_wide, f"{len(too_wide)} tables end beyond the 1,280 px viewport: {too_wide}"
    assert measure["scroll"] <= measure["vw"]


def test_a_wide_table_wraps_at_1280_px(tmp_path):
    doc.write(_wide_blocks(), tmp_path, "wide")
    _assert_fits(_measure(tmp_path / "report.html", tmp_path))


@pytest.mark.parametrize("page", COMMITTED, ids=[p.parent.name for p in COMMITTED])
def test_committed_report_fits_1280_px(page, tmp_path):
    _assert_fits(_measure(page, tmp_path))


def test_latex_escapes_specials():
    assert escape("a_b & 50% ± 0.1 ↑") == r"a\_b \& 50\% $\pm$ 0.1 $\uparrow$"


def test_tables_tex_compiles_with_pdflatex(tmp_path):
    blocks = _wide_blocks() + [doc.Table(["seed", "command"], [["0", "python train.py model=dec"]],
                                         css_class="commands")]
    tex = write_tables(blocks, tmp_path / "tables.tex", "seglab: a report")
    text = tex.read_text()
    assert r"\toprule" in text and r"\midrule" in text and r"\bottomrule" in text
    assert text.count(r"\begin{tabular}") == 1  # command listings are not tables of results
    assert r"\textbf{0.500 $\pm$ 0.012 (n=4)}" in text
    pdflatex = shutil.which("pdflatex")
    require(pdflatex is not None, "needs pdflatex (apt-get install texlive-latex-recommended)")
    for page in [tex, *sorted(ROOT.glob("experiments/report_*/tables.tex"))]:
        work = tmp_path / page.parent.name
        work.mkdir(exist_ok=True)
        res = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-output-directory", str(work),
                              str(page)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout[-3000:]
        assert (work / (page.stem + ".pdf")).stat().st_size > 1000
