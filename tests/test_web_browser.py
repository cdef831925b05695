"""The page in a real browser: Debian's Chromium driven by Playwright, against a live server.

One server (``--example house-price``) and one browser for the module; each test opens its own
tab, so each has its own session.  The expected numbers are the seed's and ``chainrule.explain``'s.
Without Chromium or Playwright these tests are skipped with the reason, except in CI (CI=true),
where they fail: CI installs both (``.ci/run``).
"""

import os
import shutil
import threading
import time

import numpy as np
import pytest

import chainrule
from chainrule.diagnostics.examples import house_price
from chainrule.diagnostics.notation import format_number

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must have it: see .ci/run)")
        pytest.skip(reason)


try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None
try:
    from chainrule.web.app import Server, bind, make_server
    from chainrule.web.session import Start
except ImportError:  # pragma: no cover
    Server = None


@pytest.fixture(scope="module")
def server():
    _need(Server is not None, "the web extra is not installed: pip install 'chainrule[web]'")
    sock = bind("127.0.0.1", 0)
    app = Server(Start(example="house-price"))
    uvicorn_server = make_server(app.app, sock)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield app
    uvicorn_server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (Playwright's own download is not reachable); each launch gets a fresh profile."""
    _need(sync_playwright is not None, "Playwright for Python is not installed: pip install playwright")
    _need(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A new tab on the page, with every request it makes recorded in ``page.requests``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    tab.requests = []
    tab.errors = []
    tab.on("request", lambda request: tab.requests.append(request.url))
    tab.on("websocket", lambda socket: tab.requests.append(socket.url))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.goto(server.url + "/")
    tab.wait_for_function("() => window.chainrulePage && window.chainrulePage.store.state !== null")
    yield tab
    assert tab.errors == []
    context.close()


def text(page, selector):
    return page.locator(selector).inner_text().strip()


def wait_text(page, selector, expected, timeout=10_000):
    page.wait_for_function(
        "([s, e]) => document.querySelector(s) && document.querySelector(s).textContent.trim() === e",
        arg=[selector, expected],
        timeout=timeout,
    )


def test_house_price_shows_the_seeds_loss_then_one_step(page):
    wait_text(page, "#loss-train", "0.68456")
    page.click("#step")
    wait_text(page, "#loss-train", "0.35064")
    wait_text(page, "#steps", "step 1")


def test_hovered_weight_shows_explains_numbers(page):
    page.hover('.link-hit[data-param="0.weight[1,0]"]')
    page.wait_for_selector('[data-quantity="gradient"]')
    model, loss_fn, x, y = house_price()
    expected = chainrule.explain(model, loss_fn, x, y, param="w1_21", lr=0.2)
    shown = page.evaluate("window.chainrulePage.store.state.explanation")
    assert shown["gradient"] == expected.value  # the same float, not a second computation
    assert text(page, '[data-quantity="gradient"]') == format_number(expected.value, 5) == "-0.01829"
    assert text(page, '[data-quantity="updated"]') == format_number(0.5 - 0.2 * expected.value, 5) == "0.50366"
    equations = page.eval_on_selector_all(".explain details[open] .equation", "nodes => nodes.map(n => n.dataset.text)")
    assert equations == _equations(expected, "Gradients, by the chain rule") and len(equations) == 4
    assert "0.234 × 0.2442 × (-0.32) = -0.0183" in equations[1]
    assert page.locator(".explain .katex").count() >= 4  # typeset by KaTeX


def test_three_phases_show_what_they_computed(page):
    page.click("#phase")
    page.wait_for_function("() => window.chainrulePage.store.state.phase === 'forward'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    assert text(page, "#phase-note").startswith("Forward: every unit's z")
    assert page.locator(".node.phase-forward").count() == 5
    labels = page.eval_on_selector_all(".unit-label", "nodes => nodes.map(n => n.textContent)")
    assert labels == ["z -0.063  h 0.484", "z -0.306  h 0.424", "z 0.63  h 0.63"]
    assert text(page, "#steps") == "step 0"
    page.click("#phase")
    page.wait_for_function("() => window.chainrulePage.store.state.phase === 'backward'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    assert text(page, "#phase-note").startswith("Backward: δ = ∂L/∂z")
    labels = page.eval_on_selector_all(".unit-label", "nodes => nodes.map(n => n.textContent)")
    assert labels == ["δ 0.088", "δ 0.057", "δ 1.17"]
    page.click("#phase")
    page.wait_for_function("() => window.chainrulePage.store.state.phase === 'update'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    wait_text(page, "#steps", "step 1")
    wait_text(page, "#loss-train", "0.35064")
    assert text(page, "#phase-note").startswith("Update: every weight moved")
    assert page.eval_on_selector_all(".unit-label", "n => n.map(x => x.textContent)")[2] == "Δb -0.234"


def test_editing_a_weight_changes_the_next_forward_pass(page):
    page.click('.link-hit[data-param="2.weight[0,0]"]')
    page.wait_for_selector("#explain-edit:not([hidden])")
    page.fill("#edit-value", "1")
    page.click("#edit-apply")
    h1 = 1 / (1 + np.exp(-np.array([-0.063, -0.306])))
    loss = 0.5 * (-0.54 - (h1[0] + 0.2 * h1[1] + 0.4)) ** 2
    wait_text(page, "#loss-train", format_number(loss, 5))
    page.click("#phase")
    page.wait_for_function("() => window.chainrulePage.store.state.phase === 'forward'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    assert page.eval_on_selector_all(".unit-label", "n => n.map(x => x.textContent)")[2] == (
        f"z {format_number(h1[0] + 0.2 * h1[1] + 0.4, 3)}  h {format_number(h1[0] + 0.2 * h1[1] + 0.4, 3)}"
    )


def test_a_bad_upload_shows_its_message_and_the_page_still_trains(page, tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text("size,price\n1,2\n3\n")
    page.select_option("#source", "upload")
    page.set_input_files("#upload-file", str(bad))
    page.wait_for_selector("#message:not([hidden])")
    assert text(page, "#message").startswith("ragged.csv: ")
    assert "line 3" in text(page, "#message")
    page.click("#step")
    wait_text(page, "#steps", "step 1")
    wait_text(page, "#loss-train", "0.35064")


def test_spiral_trains_with_heat_maps_no_request_leaves_and_the_page_is_not_blank(page, server, tmp_path):
    page.select_option("#source", "playground")
    page.wait_for_function("() => window.chainrulePage.store.state.data.source === 'playground'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    page.click('.sets button[data-set="spiral"]')
    page.wait_for_function("() => window.chainrulePage.store.state.data.name === 'spiral'")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    page.click("#add-layer")
    page.wait_for_function("() => window.chainrulePage.store.state.network.hidden.length === 3")
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    page.click("#play")
    page.wait_for_function("() => window.chainrulePage.store.state.steps > 500", timeout=20_000)
    page.wait_for_function("() => window.chainrulePage.isDrawn()")
    page.click("#play")
    page.wait_for_function("() => !window.chainrulePage.store.state.playing")
    assert page.locator("canvas.unit").count() == 2 + 4 + 2 + 2 + 1
    path = tmp_path / "page.png"
    page.screenshot(path=str(path), full_page=True)
    pixels = _png_pixels(path)
    colours = {tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])[::97]}
    assert len(colours) > 50  # heat maps, lines and text: not a blank page
    local = (server.url, server.url.replace("http", "ws"), "data:", "blob:")
    assert page.requests and all(url.startswith(local) for url in page.requests), page.requests


def test_two_tabs_train_at_once_and_a_closed_tab_frees_its_session(browser, server, page):
    before = set(server.sessions)
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a window of its own: not in the background
    other = context.new_page()
    other.goto(server.url + "/")
    other.wait_for_function("() => window.chainrulePage && window.chainrulePage.store.state !== null", polling=100)
    (key,) = set(server.sessions) - before
    for tab in (page, other):
        tab.evaluate("window.chainrulePage.send({type: 'training', speed: 200})")
        tab.click("#play")
    for tab in (page, other):
        tab.wait_for_function("() => window.chainrulePage.store.state.steps > 20", polling=100, timeout=20_000)
        assert tab.evaluate("window.chainrulePage.store.error") == ""
    context.close()
    deadline = time.monotonic() + 5
    while key in server.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert key not in server.sessions
    steps = page.evaluate("window.chainrulePage.store.state.steps")
    page.wait_for_function(f"() => window.chainrulePage.store.state.steps > {steps}", polling=100)  # still training


def _equations(explanation, title):
    """The terminal text of the equations in the section ``title`` of a walk-through."""
    section, out = None, []
    for block in explanation.blocks:
        if hasattr(block, "title"):
            section = block.title
        elif section == title and hasattr(block, "parts"):
            out.append(" = ".join(part.text for part in block.parts))
    return out


def _png_pixels(path):
    import matplotlib.image

    return (matplotlib.image.imread(path) * 255).astype(np.uint8)
