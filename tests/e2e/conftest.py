"""Browser tests: a live server on 127.0.0.1 running the test app, driven by Playwright with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "test-results"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture()
def live_server(app, db):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must run the browser tests)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        pw.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="sv-SE", viewport={"width": 1200, "height": 850})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def browser_login(page, base: str, account) -> None:
    """Log in through the real pages with password and a fresh one-time code, and wait for the start page."""
    import time

    from sqlalchemy import update

    from caseapp.accounts.models import User
    from caseapp.extensions import db
    from caseapp.security import auth as authlib

    db.session.execute(update(User).where(User.id == account.id).values(totp_last_counter=None))
    db.session.commit()
    page.goto(f"{base}/login")
    page.get_by_label("Användarnamn").fill(account.user.username)
    page.get_by_label("Lösenord").fill(account.password)
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_label("Engångskod").fill(authlib.totp_code(account.totp_secret, time.time()))
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("heading", name=f"Välkommen, {account.user.display_name}").wait_for()
