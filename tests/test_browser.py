"""The tearsheet opened in a real headless Chromium: renders, no console errors, regime story and metrics visible,
QuantStats' defects fixed as a reader sees them (plain % sign, strategy column first, blank heatmap months).

Console messages are read from Chromium's own log (--enable-logging=stderr --v=0 prints every console message as
`INFO:CONSOLE... "text", source: ...`). Visibility is measured in the page by a small probe script appended to a
copy of the tearsheet, which logs its findings through the same channel. No extra dependencies.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from regimeshift.reports.tearsheet import write_tearsheet

try:  # tests/ as a package (tests/__init__.py) or as a plain rootdir
    from tests.test_reports import make_report_data
except ImportError:  # pragma: no cover
    from test_reports import make_report_data  # type: ignore[no-redef]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium / chromium-browser on PATH (apt-get install chromium)"),
]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--window-size=1400,3000",
]
CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*\"(?P<msg>.*)\", source: (?P<src>.*)$", re.M)

PROBE = """
<script>
window.addEventListener("load", function () {
  function box(el) {
    if (!el) return null;
    var r = el.getBoundingClientRect(), s = getComputedStyle(el);
    var shown = r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
    return {shown: shown, top: r.top + window.scrollY, width: r.width, height: r.height};
  }
  var story = document.getElementById("regime-story");
  var figs = story ? Array.prototype.map.call(story.querySelectorAll("figure > svg"), box) : [];
  var table = document.querySelector("#right table");
  // tick labels of one axis (matplotlib's SVG: g#xtick_N / g#ytick_N, each with a g#text_N) that overlap
  var overlaps = [];
  Array.prototype.forEach.call(document.querySelectorAll("svg"), function (svg, k) {
    ["xtick_", "ytick_"].forEach(function (kind) {
      var groups = {};
      Array.prototype.forEach.call(svg.querySelectorAll('g[id^="' + kind + '"]'), function (tick) {
        var label = tick.querySelector('g[id^="text_"]');
        if (!label) return;
        var r = label.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) return;
        var axis = tick.parentNode; var key = axis.id || ("axis" + k);
        (groups[key] = groups[key] || []).push({r: r, id: tick.id});
      });
      Object.keys(groups).forEach(function (key) {
        var labels = groups[key];
        for (var i = 0; i < labels.length; i++) for (var j = i + 1; j < labels.length; j++) {
          var a = labels[i].r, b = labels[j].r;
          var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1) overlaps.push({figure: k, parent: (svg.closest("[id]") || {}).id || "", a: labels[i].id, b: labels[j].id});
        }
      });
    });
  });
  // every table's header cells as shown; the CAGR label as shown; the monthly heatmap's painted and blank cells
  var headers = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return Array.prototype.map.call(t.querySelectorAll("th"), function (th) { return th.innerText.trim(); });
  });
  var cagr = Array.prototype.map.call(document.querySelectorAll("#right table td:first-child"),
    function (td) { return td.innerText.trim(); }).filter(function (t) { return t.indexOf("CAGR") === 0; });
  var cells = document.querySelectorAll('#monthly_heatmap g[id^="QuadMesh"] path');
  var painted = Array.prototype.filter.call(cells, function (c) {
    var s = getComputedStyle(c); return s.fill !== "none" && parseFloat(s.fillOpacity) > 0;
  }).length;
  console.log("PROBE " + JSON.stringify({
    headers: headers, cagr: cagr, heatmap: {cells: cells.length, painted: painted},
    story: box(story), figures: figs, metrics: box(table),
    hasSharpe: !!table && table.innerText.indexOf("Sharpe") >= 0,
    hasCalmar: !!table && table.innerText.indexOf("Calmar") >= 0,
    hasCumulative: !!table && table.innerText.indexOf("Cumulative Return") >= 0,
    qsTitle: box(document.querySelector(".container > h1")),
    overlaps: overlaps, nSvg: document.querySelectorAll("svg").length
  }));
});
</script>
"""


def _chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _console(stderr: str) -> list[str]:
    return [m.group("msg") for m in CONSOLE.finditer(stderr)]


@pytest.fixture(scope="module")
def tearsheet(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    # 18 years: QuantStats' EOY bar chart smeared its year labels only with many years on the axis
    return write_tearsheet(make_report_data(title="browser <check>", years=18), out / "tearsheet.html")


@pytest.fixture(scope="module")
def screenshot_run(tearsheet, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shot")
    png = tmp / "tearsheet.png"
    proc = _chromium(tmp, tearsheet.resolve().as_uri(), f"--screenshot={png}")
    return proc, png


@pytest.fixture(scope="module")
def probe(tearsheet, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("probe")
    page = tmp / "probed.html"
    page.write_text(tearsheet.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _chromium(tmp, page.as_uri(), "--dump-dom", "--virtual-time-budget=5000")
    lines = [m for m in _console(proc.stderr) if m.startswith("PROBE ")]
    assert lines, f"probe did not report; chromium rc={proc.returncode}\n{proc.stderr[-2000:]}"
    return json.loads(lines[-1][len("PROBE "):])


def test_screenshot_is_written_and_not_blank(screenshot_run):
    proc, png = screenshot_run
    assert png.exists(), f"no screenshot; chromium rc={proc.returncode}\n{proc.stderr[-2000:]}"
    assert png.stat().st_size > 50_000
    img = mpimg.imread(png)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1000
    assert float(np.std(img[..., :3])) > 0.05  # not a flat page


def test_regime_colours_are_painted_near_the_top(screenshot_run):
    _, png = screenshot_run
    top = mpimg.imread(png)[:1400, :, :3]
    r, g, b = top[..., 0], top[..., 1], top[..., 2]
    green = (g > r + 0.15) & (g > b + 0.1)  # abundant shading / probability area
    red = (r > g + 0.3) & (r > b + 0.3)  # crunch
    assert green.sum() > 5_000 and red.sum() > 500


def test_page_logs_no_console_messages(screenshot_run):
    proc, _ = screenshot_run
    messages = _console(proc.stderr)
    assert not [m for m in messages if "Uncaught" in m], messages
    assert messages == []  # the page has no scripts of its own: anything logged is a fault


def test_regime_section_and_figures_are_visible(probe):
    assert probe["story"]["shown"] and probe["story"]["height"] > 1000
    assert len(probe["figures"]) == 3
    assert all(f["shown"] and f["width"] > 600 and f["height"] > 150 for f in probe["figures"])


def test_regime_section_is_above_the_quantstats_report(probe):
    assert probe["story"]["top"] < 200
    assert probe["story"]["top"] < probe["qsTitle"]["top"]


def test_quantstats_metrics_table_is_visible(probe):
    assert probe["metrics"]["shown"] and probe["metrics"]["height"] > 300
    assert probe["hasCalmar"] and probe["hasCumulative"]
    # QuantStats' zero-rate Sharpe is dropped: the page's one Sharpe is the run's, in the comparison table
    assert not probe["hasSharpe"]


def test_no_figure_has_overlapping_tick_labels(probe):
    # QuantStats' EOY bar chart piled 18 year labels on top of each other at the left of its axis (issue 10)
    assert probe["nSvg"] >= 10
    assert probe["overlaps"] == [], probe["overlaps"][:10]


def test_metrics_table_has_no_treynor_ratio(tearsheet):
    # QuantStats prints total return / beta as a percentage ("805.15%"): dropped as misleading
    assert "Treynor" not in tearsheet.read_text(encoding="utf-8")


def test_cagr_label_is_shown_with_a_plain_percent_sign(probe):
    # QuantStats wrote U+FE6A SMALL PERCENT SIGN, a missing-glyph box in common fonts
    assert probe["cagr"] == ["CAGR%"]


def test_every_table_shows_the_strategy_column_before_the_benchmark(probe):
    both = [h for h in probe["headers"] if "Strategy" in h and "SPY" in h]
    assert len(both) == 4  # per regime, stress, QuantStats' metrics and EOY
    assert all(h.index("Strategy") < h.index("SPY") for h in both), both


def test_monthly_heatmap_paints_only_the_months_with_data(probe):
    data = make_report_data(title="browser <check>", years=18)
    months = data.returns.index.to_period("M").unique()  # Oct 2008 .. Feb 2026 (the fixture's data)
    years = months.year.unique()
    assert probe["heatmap"]["cells"] == 12 * len(years)
    assert probe["heatmap"]["painted"] == len(months) < 12 * len(years)


# -- the sweep's leaderboard page ------------------------------------------------------------------------------------
BOARD_PROBE = """
<script>
window.addEventListener("load", function () {
  function overlap(a, b) {
    var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 0 && h > 0;
  }
  var labels = Array.prototype.map.call(document.querySelectorAll('g[id^="toplabel_"]'), function (g) {
    return {id: g.id, r: g.getBoundingClientRect()};
  });
  var clashes = [];
  for (var i = 0; i < labels.length; i++) for (var j = i + 1; j < labels.length; j++)
    if (overlap(labels[i].r, labels[j].r)) clashes.push([labels[i].id, labels[j].id]);
  var scroller = document.querySelector(".scroll");
  var heads = document.querySelectorAll("#leaderboard thead th");
  var box = scroller.getBoundingClientRect();
  var firstBefore = heads[0].getBoundingClientRect().left;
  scroller.scrollLeft = scroller.scrollWidth;
  var last = heads[heads.length - 1].getBoundingClientRect();
  var firstAfter = heads[0].getBoundingClientRect();
  var dsr = Array.prototype.filter.call(heads, function (th) { return th.innerText === "dsr"; })[0];
  var dsrCell = document.querySelector("#leaderboard tbody tr").children[Array.prototype.indexOf.call(heads, dsr)];
  console.log("PROBE " + JSON.stringify({
    nLabels: labels.length, clashes: clashes,
    pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
    overflows: scroller.scrollWidth > scroller.clientWidth, scrolled: scroller.scrollLeft,
    lastRight: last.right, boxRight: box.right, boxLeft: box.left,
    firstBefore: firstBefore, firstAfterLeft: firstAfter.left, firstText: heads[0].innerText,
    dsrText: dsrCell.innerText
  }));
});
</script>
"""


@pytest.fixture(scope="module")
def board_probe(tmp_path_factory) -> dict:
    import pandas as pd
    from regimeshift.sweep import leaderboard as lb

    n = 30
    rng = np.random.default_rng(4)
    swept = [f"strategy.weights.regime_{k}.a_long_sleeve_name" for k in range(6)]
    sharpe = np.r_[np.full(8, 0.9) - 0.0004 * np.arange(8), rng.uniform(0.2, 0.8, n - 8)]  # 8 top points at one spot
    table = pd.DataFrame({"rank": np.arange(1, n + 1), "variant": np.arange(n), "key": "k", "status": "ok",
                          **{k: rng.uniform(0, 1, n) for k in swept},
                          **{c: rng.uniform(0.1, 0.5, n) for c in lb.METRIC_COLUMNS},
                          "normalized": "", "reason": "", "dsr": np.r_[0.9994, np.full(n - 1, 0.98)]})
    table["sharpe"] = sharpe
    table["max_drawdown"] = np.r_[np.full(8, -0.2) + 0.0001 * np.arange(8), rng.uniform(-0.4, -0.1, n - 8)]
    page = lb.render_html("browser", table, {"basis": "Sharpe: daily excess returns"},
                          {"risk": [lb.risk_scatter(table, 8)]})
    tmp = tmp_path_factory.mktemp("board")
    path = tmp / "leaderboard.html"
    path.write_text(page.replace("</body>", BOARD_PROBE + "</body>"), encoding="utf-8")
    proc = _chromium(tmp, path.as_uri(), "--dump-dom", "--virtual-time-budget=5000")
    lines = [m for m in _console(proc.stderr) if m.startswith("PROBE ")]
    assert lines, f"probe did not report; chromium rc={proc.returncode}\n{proc.stderr[-2000:]}"
    return json.loads(lines[-1][len("PROBE "):])


def test_leaderboard_top_labels_never_overlap_even_on_one_spot(board_probe):
    assert board_probe["nLabels"] == 8
    assert board_probe["clashes"] == []


def test_leaderboard_table_scrolls_at_1400px_with_the_variant_column_fixed(board_probe):
    p = board_probe
    assert p["pageWidth"] <= p["viewport"]  # the page itself does not overflow: the table scrolls in its box
    assert p["overflows"] and p["scrolled"] > 0
    assert p["lastRight"] <= p["boxRight"] + 1  # the last column is reachable
    assert p["firstText"] == "variant" and abs(p["firstAfterLeft"] - p["boxLeft"]) <= 1  # sticky
    assert p["dsrText"] == "> 0.999"  # DSR with the digits that tell 0.9994 from 0.98
