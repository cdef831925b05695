"""How fast the page is: the issue's figures, measured in the server and in the real browser.

A 2-8-8-1 tanh network on 500 points of Playground's spiral (250 training points, batches of 10,
SGD η = 0.03, as fast as the server goes) is trained from a page in Debian's Chromium for
``--seconds``.  The page counts the frames in which it redrew a new state (diagram with its 19
heat maps, output map, curves); the server counts its steps.  The first load is the browser's
navigation timing (``loadEventEnd``) and the time until the first state is drawn.  A second part
times the server alone: steps per second of ``Session.train_for`` without a page.

Run (needs the test extras and ``apt-get install -y chromium``)::

    python benchmarks/bench_web.py [--seconds 10] [--screenshot docs/page.png]

Prints one line per figure.  Timings on a shared machine vary; run it twice.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time

from playwright.sync_api import sync_playwright

from chainrule.web.app import Server, bind, make_server
from chainrule.web.session import Session, Start

SPIRAL = {"type": "data", "source": "playground", "name": "spiral", "noise": 0.0, "train_ratio": 0.5,
          "samples": 500, "features": ["x1", "x2"]}  # fmt: skip
NETWORK = {"type": "network", "hidden": [8, 8], "activations": ["tanh", "tanh"], "loss": "bce"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PERF = "({...window.chainrulePage.store.perf, steps: window.chainrulePage.store.state.steps, now: performance.now()})"


def server_only(seconds: float) -> float:
    """Steps per second of the session's own loop, no page, no socket."""
    session = Session(Start())
    for message in (SPIRAL, NETWORK, {"type": "play"}):
        session.apply(message)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        steps += session.train_for()
        session.state()  # what each frame also computes (heat maps, losses, curves)
    return steps / (time.perf_counter() - start)


def in_browser(seconds: float, screenshot: str | None) -> dict[str, float]:
    """Serve, open the page in Chromium, train the spiral, count frames and steps."""
    sock = bind("127.0.0.1", 0)
    server = make_server(Server(Start()).app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_function("() => window.chainrulePage && window.chainrulePage.isDrawn() "
                                   "&& window.chainrulePage.store.state !== null")  # fmt: skip
            first_state = page.evaluate("performance.now()")
            load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            for message in (SPIRAL, NETWORK, {"type": "play"}):
                page.evaluate("m => window.chainrulePage.send(m)", message)
                page.wait_for_timeout(300)
            page.wait_for_timeout(1000)
            before = page.evaluate(PERF)
            page.wait_for_timeout(seconds * 1000)
            after = page.evaluate(PERF)
            if screenshot:
                page.evaluate("() => window.chainrulePage.send({type: 'pause'})")
                page.hover('.link-hit[data-param="2.weight[5,0]"]')
                page.wait_for_timeout(800)
                page.screenshot(path=screenshot, full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(5)
    elapsed = (after["now"] - before["now"]) / 1000
    drawn = after["drawn"] - before["drawn"]
    return {
        "load event (ms)": load,
        "first state drawn (ms)": first_state,
        "steps per second (server, page open)": (after["steps"] - before["steps"]) / elapsed,
        "redraws per second (page)": drawn / elapsed,
        "animation frames per second (page)": (after["frames"] - before["frames"]) / elapsed,
        "draw time per redraw (ms)": (after["drawMs"] - before["drawMs"]) / max(drawn, 1),
        "received (kB/s)": (after["bytes"] - before["bytes"]) / elapsed / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--screenshot", help="also save a screenshot of the page (PNG)")
    args = parser.parse_args()
    print(f"steps per second (server alone): {server_only(args.seconds / 2):.0f}")
    for name, value in in_browser(args.seconds, args.screenshot).items():
        print(f"{name}: {value:.1f}")


if __name__ == "__main__":
    main()
