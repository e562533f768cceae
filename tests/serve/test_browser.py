"""The explorer page in a real browser: Playwright driving Debian's chromium against a live uvicorn server.

Skips only when the browser or Playwright is truly absent (``make test`` installs chromium
via apt when it can). A screenshot is saved to ``test-artifacts/explorer.png``.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CONTRAST = "I loved it at first, but by the end I hated it"

if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium); the browser test needs it",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed "
                                                             "(pip install -e '.[dev]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _three_class_run(path: Path) -> Path:
    """tests/_three_class.py's three-class run (neg / neu / pos), built with the Python API."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_three_class", Path(__file__).parents[1] / "_three_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.three_class_run(path)


@pytest.fixture(scope="module")
def server(trained_runs, tmp_path_factory):
    import uvicorn

    from rnnlab.serve import create_app

    lstm3 = _three_class_run(tmp_path_factory.mktemp("three") / "lstm3")
    app = create_app([trained_runs["lstm"], trained_runs["bigru"], trained_runs["boe"], lstm3])
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server)
        page.errors = errors
        yield page
        browser.close()


def test_typing_a_review_shows_label_shaded_tokens_and_chart(page):
    page.wait_for_selector("#model-a option", state="attached")
    page.select_option("#model-a", "lstm")
    box = page.locator("#text")
    box.fill("")
    box.type(CONTRAST, delay=5)  # real key presses: the debounced update fires once typing pauses
    panel = page.locator(".panel").first
    sync_api.expect(panel.locator(".tokens span")).to_have_count(13, timeout=15_000)
    sync_api.expect(panel.locator(".label")).to_have_text(re.compile(r"^(neg|pos)$"))
    assert "p(pos) = " in panel.locator(".prob").inner_text()
    tokens = panel.locator(".tokens span")
    assert tokens.all_inner_texts()[:3] == ["i", "loved", "it"]
    shaded = [s for s in tokens.evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
              if s not in ("rgba(0, 0, 0, 0)", "transparent")]
    assert len(shaded) >= 10  # tokens carry an importance colour
    assert panel.locator("svg.chart polyline.curve").count() == 1
    points = panel.locator("svg.chart polyline.curve").get_attribute("points").split()
    assert len(points) == 13
    assert panel.locator("svg.chart circle.pt").count() == 13
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
    assert (ARTIFACTS / "explorer.png").stat().st_size > 10_000
    assert not page.errors, page.errors


def test_editing_updates_the_result(page):
    panel = page.locator(".panel").first
    page.locator("#text").fill("A wonderful film")
    sync_api.expect(panel.locator(".tokens span")).to_have_count(3, timeout=15_000)
    assert panel.locator("svg.chart circle.pt").count() == 3


def test_side_by_side_compares_two_models(page):
    page.locator("#examples button", has_text="I hated it at first").click()
    page.check("#compare")
    page.select_option("#model-b", "boe")
    sync_api.expect(page.locator(".panel")).to_have_count(2, timeout=15_000)
    sync_api.expect(page.locator('.panel[data-model="boe"] .tokens span')).to_have_count(13, timeout=15_000)
    lstm, boe = page.locator('.panel[data-model="lstm"]'), page.locator('.panel[data-model="boe"]')
    assert lstm.locator("svg.chart").count() == 1
    assert boe.locator("svg.chart").count() == 0 and "no reading order" in boe.locator(".no-chart").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-compare.png"), full_page=True)
    assert not page.errors, page.errors


def test_bidirectional_model_has_no_chart_and_errors_are_shown(page):
    page.uncheck("#compare")
    page.select_option("#model-a", "bigru")
    sync_api.expect(page.locator('.panel[data-model="bigru"]')).to_have_count(1, timeout=15_000)
    assert "bidirectional" in page.locator(".panel .no-chart").inner_text()
    page.locator("#text").fill("x" * 20_001)  # over the default text limit: the server's 422 message shows
    sync_api.expect(page.locator("#status.error")).to_contain_text("422", timeout=15_000)
    assert "at most 20000 characters" in page.locator("#status").inner_text()


def test_a_three_class_run_shows_every_class_and_draws_a_curve_per_class(page):
    page.errors.clear()  # the previous test's 422 was on purpose
    page.locator("#text").fill(CONTRAST)
    page.select_option("#model-a", "lstm3")
    panel = page.locator('.panel[data-model="lstm3"]')
    sync_api.expect(panel.locator(".tokens span")).to_have_count(13, timeout=15_000)
    classes = panel.locator(".classes .class-item")
    assert classes.evaluate_all("els => els.map(e => e.dataset.label)") == ["neg", "neu", "pos"]
    probs = [float(t.split()[1]) for t in classes.all_inner_texts()]
    assert abs(sum(probs) - 1) < 2e-3
    predicted = panel.locator(".classes .class-item.predicted").get_attribute("data-label")
    assert panel.locator(".label").inner_text() == predicted == ["neg", "neu", "pos"][probs.index(max(probs))]
    assert panel.locator(".prob").inner_text().startswith(f"p({predicted}) = ")
    assert f"green pushed towards {predicted}, red away from {predicted}" in panel.locator(".legend").inner_text()
    curves = panel.locator("svg.chart polyline.curve")
    assert curves.count() == 3
    assert [c.get_attribute("data-label") for c in curves.all()] == ["neg", "neu", "pos"]
    assert panel.locator(f'svg.chart polyline.target[data-label="{predicted}"]').count() == 1
    assert all(len(c.get_attribute("points").split()) == 13 for c in curves.all())
    assert panel.locator("svg.chart circle.pt").count() == 13
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-three-classes.png"), full_page=True)
    assert not page.errors, page.errors
