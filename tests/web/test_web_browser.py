"""The demo in a real browser: Debian's chromium driven by Playwright, fully offline.

Needs ``scripts/install-browser.sh`` (chromium from apt, Playwright for Python; no browser
download). One test, because each costs a browser start and a few seconds of runs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Everything that keeps chromium from reaching out on its own (updates, sync, metrics).
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def browser_context(tmp_path: Path):
    playwright_api = pytest.importorskip("playwright.sync_api",
                                         reason="run scripts/install-browser.sh")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium; run scripts/install-browser.sh")
    with playwright_api.sync_playwright() as playwright:
        # A persistent context in a fresh folder: no profile of anyone else's is read.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, viewport={"width": 1400, "height": 1100},
        )
        try:
            yield context
        finally:
            context.close()


def _picture(page) -> str | None:
    image = page.locator("#result img")
    return image.first.get_attribute("src") if image.count() else None


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_visitor_watches_a_run_form_and_stops_it(served, browser_context, tmp_path: Path):
    requested: list[str] = []
    browser_context.on("request", lambda request: requested.append(request.url))
    page = browser_context.new_page()
    page.goto(served.url)
    page.locator("#start").wait_for(timeout=60_000)

    # Choose samples: the preview follows the choice.
    content_preview = page.locator("#photo-preview img")
    before = content_preview.get_attribute("src")
    page.locator("#photo-sample").get_by_text("astronaut", exact=True).click()
    page.locator("#painting-sample").get_by_text("woman_with_hat", exact=True).click()
    _wait_until(lambda: content_preview.get_attribute("src") != before, 30, "the new preview")

    page.locator("#start").click()
    seen: list[str] = []

    def picture_changed() -> bool:
        src = _picture(page)
        if src and (not seen or seen[-1] != src):
            seen.append(src)
        return len(seen) >= 3  # a first picture, then two changes

    _wait_until(picture_changed, 120, "the picture to change twice")
    page.locator("#loss-plot img").wait_for(timeout=30_000)

    # A second visitor is told their place in the queue (each page load is its own session).
    second = browser_context.new_page()
    second.goto(served.url)
    second.locator("#start").click()
    second.locator("#result").get_by_text("queue", exact=False).first.wait_for(timeout=30_000)

    page.locator("#stop").click()
    page.locator("#status").get_by_text("stopped", exact=False).wait_for(timeout=30_000)
    page.locator("#download a").first.wait_for(timeout=30_000)
    assert _picture(page) is not None  # the latest picture stays

    second.locator("#stop").click()
    second.locator("#status").get_by_text("stopped", exact=False).wait_for(timeout=60_000)

    page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    if os.environ.get("GRAMSCOPE_SCREENSHOT"):
        page.screenshot(path=os.environ["GRAMSCOPE_SCREENSHOT"], full_page=True)
    assert (tmp_path / "demo.png").stat().st_size > 10_000

    outside = {urlsplit(url).hostname for url in requested
               if urlsplit(url).scheme not in ("data", "blob", "about")} - LOCAL_HOSTS
    assert requested and not outside, f"requests left the machine: {sorted(outside)}"


def test_a_visitor_paints_a_region_and_the_run_keeps_it(served, browser_context):
    """One red stroke over the photo: the run puts the red painting there only, and the
    PNG offered for download records the painted mask."""
    from urllib.parse import unquote

    from gramscope.image import read_metadata

    page = browser_context.new_page()
    page.goto(served.url)
    page.locator("#start").wait_for(timeout=60_000)
    page.locator("#regions-panel").get_by_text("Regions", exact=False).first.click()
    canvas = page.locator("#regions canvas").first
    canvas.wait_for(timeout=30_000)
    canvas.scroll_into_view_if_needed()  # mouse events outside the viewport paint nothing
    time.sleep(1)  # the photo is being drawn onto the canvas
    box = canvas.bounding_box()
    x, y, width, height = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.3 * width, y + 0.3 * height)
    page.mouse.down()
    for i in range(20):
        page.mouse.move(x + (0.3 + 0.01 * i) * width, y + (0.3 + 0.02 * i) * height)
    page.mouse.up()
    time.sleep(1)  # the editor hands its layers over when it has drawn them
    page.locator("#steps input[type=number]").fill("4")
    page.locator("#steps input[type=number]").press("Enter")

    page.locator("#start").click()
    status = page.locator("#status")
    status.get_by_text("done", exact=False).wait_for(timeout=60_000)
    assert "painted red #e6194b → sample:starry_night" in status.inner_text()
    href = page.locator("#download a").first.get_attribute("href")
    metadata = read_metadata(unquote(href.split("file=", 1)[1]))  # served from this machine
    assert metadata["styles"] == ["sample:starry_night"]
    assert [m["mask"] for m in metadata["masks"]] == ["painted red #e6194b"]
    assert metadata["steps_done"] == 4
