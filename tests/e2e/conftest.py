"""The web client in a real browser (Debian's Chromium, driven by Playwright) against live gunicorn.

Playwright's own browser downloads are never used (``playwright install`` needs the internet):
the tests launch /usr/bin/chromium, which ``make system-deps`` installs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.integration.live import ROOT, LiveServer

from .servers import start_server
from .ui import Ui

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must never pass by skipping the browser tests
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    """One gunicorn with its own SQLite file for a module's tests (each test signs up new users)."""
    live = start_server(tmp_path_factory.mktemp("e2e"))
    yield live
    live.stop()


@pytest.fixture
def ui(browser: Browser, request) -> Iterator[Ui]:
    """Pages in fresh browser contexts (one per person); checked for script errors at the end."""
    ARTIFACTS.mkdir(exist_ok=True)
    ui = Ui(browser, ARTIFACTS)
    yield ui
    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed
    ui.close(failed_test=request.node.name if failed else None)
    if failed:
        print("browser errors:", *ui.errors, sep="\n  ")  # shown with the failure
    else:
        ui.assert_clean()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Let the ``ui`` fixture know whether the test failed, to keep a screenshot of every page."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
