"""``parity.html``: self-contained, complete, and working in a real browser (headless Chromium)."""

from __future__ import annotations

import os
import re

import pytest

from conformance.backends import load_backend
from conformance.report import ReportRun, run_report, write_report
from conformance.report.merge import merge_reports
from conformance.report.page import html_page
from tests import planted
from tests.browser import Chromium, find_chromium
from tests.test_report import ConvOnly

BROWSER_REQUIRED = os.environ.get("CONFORMANCE_REQUIRE_BROWSER") == "1"  # set by .ci/run


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory):
    """A real report with a mixed matrix: Conv agrees, disagrees and agrees; ConvTranspose agrees,
    disagrees and is unsupported."""
    out = tmp_path_factory.mktemp("page")
    run = ReportRun(["Conv", "ConvTranspose"], [load_backend("reference"), planted.FlippedKernel(), ConvOnly()],
                    "ci", 8, 1, jobs=0)
    report = run_report(run, out / "failures")
    write_report(report, out)
    return out


def test_the_page_loads_nothing_from_the_network(page_dir):
    text = (page_dir / "parity.html").read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", text)
    assert "@import" not in text and "url(http" not in text
    sources = re.findall(r'<img[^>]+src="([^"]{0,30})', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_the_page_holds_matrix_details_and_environment(page_dir):
    text = (page_dir / "parity.html").read_text()
    assert text.count('<tr data-op="') == 2 and text.count('<td class="cell" data-status=') == 6
    for expected in ('data-status="disagree"', 'data-status="unsupported"', "diagnosis: <code>flipped_kernel</code>",
                     "Minimal counterexample:", "Reproduce:", "conformance replay ", 'id="op-Conv"',
                     'id="op-ConvTranspose"', "Attribute corners the judged examples reached", "<code>depthwise</code>",
                     'id="environment-table"', "NumPy", "ONNX opset", "examples per cell"):
        assert expected in text, expected
    assert text.count('class="plot"') == 2  # an error-distribution plot per operator


def test_a_merged_report_renders_its_runs(page_dir):
    import json

    report = json.loads((page_dir / "parity.json").read_text())
    text = html_page(merge_reports([("a.json", report), ("b.json", report)]))
    assert "Merged from 2 runs" in text and "<th>a.json</th><th>b.json</th>" in text


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if BROWSER_REQUIRED:
            pytest.fail("CONFORMANCE_REQUIRE_BROWSER=1 but no Chromium on PATH (apt-get install chromium)")
        pytest.skip("no Chromium on PATH: the browser test needs Debian's chromium package"
                    " (apt-get install chromium; .ci/run installs it)")
    with Chromium(path) as browser:
        yield browser


VISIBLE_ROWS = "[...document.querySelectorAll('#matrix tbody tr')].filter(r => !r.hidden).map(r => r.dataset.op)"
VISIBLE_DETAILS = "[...document.querySelectorAll('section.detail')].filter(s => s.offsetParent !== null).map(s => s.dataset.op)"


def test_the_matrix_renders_and_the_status_filter_works_in_chromium(chromium, page_dir):
    url = (page_dir / "parity.html").as_uri()
    chromium.open(url, ready="document.body && document.body.dataset.ready === 'true'")
    # The matrix rendered: two operators, three backend columns, coloured status badges.
    assert chromium.evaluate("document.querySelectorAll('#matrix tbody tr').length") == 2
    assert chromium.evaluate("document.querySelectorAll('#matrix thead th').length") == 4
    colour = chromium.evaluate("getComputedStyle(document.querySelector('td[data-status=disagree] .badge')).color")
    assert colour == "rgb(207, 34, 46)"
    assert chromium.evaluate("document.querySelector('img.plot').naturalWidth") > 100  # the embedded PNG decoded
    assert chromium.evaluate(VISIBLE_ROWS) == ["Conv", "ConvTranspose"]
    # Keep only "unsupported" by clicking the other checkboxes off, as a user would.
    for status in ("agree", "known_divergence", "disagree", "error", "timeout"):
        chromium.click(f'#filter input[value="{status}"]')
    assert chromium.evaluate(VISIBLE_ROWS) == ["ConvTranspose"]
    assert chromium.evaluate(VISIBLE_DETAILS) == ["ConvTranspose"]
    assert chromium.evaluate("document.getElementById('shown').textContent") == "1"
    assert chromium.evaluate("document.querySelectorAll('#matrix tr:not([hidden]) td.dim').length") == 2  # its other cells dim
    chromium.click("#show-all")
    assert chromium.evaluate(VISIBLE_ROWS) == ["Conv", "ConvTranspose"]
    chromium.click("#show-failing")
    assert chromium.evaluate(VISIBLE_ROWS) == ["Conv", "ConvTranspose"]  # both have a disagreeing cell
    chromium.click('#filter input[value="disagree"]')  # now nothing is checked
    assert chromium.evaluate(VISIBLE_ROWS) == []


def test_a_filtered_view_can_be_linked(chromium, page_dir):
    url = (page_dir / "parity.html").as_uri() + "#status=unsupported"
    chromium.open(url, ready="document.body && document.body.dataset.ready === 'true'")
    assert chromium.evaluate(VISIBLE_ROWS) == ["ConvTranspose"]
    assert chromium.evaluate("[...document.querySelectorAll('#filter input:checked')].map(b => b.value)") == [
        "unsupported"]
