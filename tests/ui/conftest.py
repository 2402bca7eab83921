"""Fixtures of the dashboard's browser tests (issue #8): the API served for real by uvicorn on a free
loopback port (SQLite in a temporary folder, loaded with ``dataset``), an officer's token, and
headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium.

Selenium is pointed at /usr/bin/chromedriver and /usr/bin/chromium, so selenium-manager downloads
nothing. Without them the tests fail when CI=true and are skipped otherwise; ``make browser``
installs them. Screenshots go to a temporary folder, and also to ``DANGJIAN_SCREENSHOTS`` if it
names one (``docs/screenshots`` was made that way).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api import tokens
from api.main import create_app
from infra.settings import Settings
from infra.store import Container, build
from tests.ui import dataset

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OFFICER = "市局-王某"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session", autouse=True)
def chromium() -> None:
    """Debian's Chromium and its driver, or a failure in CI (a skip elsewhere)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing: run `make browser` (apt-get install chromium chromium-driver)"
    if IN_CI:  # CI=true: a missing browser is a failure, never a skip
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Site:
    base: str
    token: str
    container: Container

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The API with the dashboard, served by uvicorn in a thread, on the demo data and its extras."""
    folder = tmp_path_factory.mktemp("ui-store")
    container = build(Settings(database_url=f"sqlite:///{folder / 'dangjian.sqlite'}", demo_when_empty=False))
    try:
        dataset.load(container)
        _, token = tokens.issue(container.engine, OFFICER, "admin", "*")
        parts = container.parts()
        config = uvicorn.Config(create_app(parts), host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Site(f"http://127.0.0.1:{port}", token, container)
        server.should_exit = True
        thread.join(10)
    finally:
        container.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium, 1280 pixels wide, Chinese first."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=zh-CN",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def officer(browser: WebDriver, site: Site) -> WebDriver:
    """The browser, logged in through /ui/login with an admin token."""
    if browser.get_cookie("dangjian_token") is None:
        browser.get(site.url("/ui/login"))
        browser.find_element(By.ID, "token").send_keys(site.token)
        browser.find_element(By.ID, "login").click()
        # wait for the login's own redirect to land: a test's first page asked before it would be
        # replaced by the landing page (the drill test then clicked links without its as_of)
        WebDriverWait(browser, 15).until(
            lambda d: d.get_cookie("dangjian_token") is not None and "/ui/login" not in d.current_url
        )
        WebDriverWait(browser, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
    return browser


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Where screenshots are saved: a temporary folder, and DANGJIAN_SCREENSHOTS if set."""
    folders = [tmp_path_factory.mktemp("screenshots")]
    if extra := os.environ.get("DANGJIAN_SCREENSHOTS"):
        folders.append(Path(extra))
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders
