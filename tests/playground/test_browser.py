"""`canbo playground` for real: the real bot process, the local Bot API and the page in headless Chromium."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.playground import Playground, SeedStep
from bot.settings import Settings

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "playground.png"

pytestmark = pytest.mark.slow


class LoopThread:
    """An event loop in a background thread, for the asyncio Playground under synchronous tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="playground-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """One real playground for the module: demo data seeded, the real bot polling (~30 s to start)."""
    root = tmp_path_factory.mktemp("playground")
    settings = Settings(_env_file=None, CANBO_DATA_DIR=root / "data")  # type: ignore[call-arg]
    instance = Playground(
        settings, port=0, seed_steps=[SeedStep("demo-data", ("demo-data", "--people", "30"))]
    )
    runner = LoopThread()
    try:
        runner.run(instance.start(), timeout=240)
        try:
            instance.server.world.wait_until(lambda: instance.server.world.calls["getUpdates"] > 0, 240)
        except TimeoutError:
            pytest.fail(
                "the bot did not start polling:\n" + instance.log_path.read_text(errors="replace")[-3000:]
            )
        yield instance
    finally:
        runner.run(instance.stop(), timeout=30)
        runner.close()


def test_playground_keeps_demo_data_apart_and_the_real_bot_answers(playground: Playground) -> None:
    assert playground.data_dir == (playground.settings.data_dir / "playground").resolve()
    assert (playground.data_dir / "canbo.db").exists()
    assert not (playground.settings.data_dir / "canbo.db").exists()  # the real data directory is untouched
    assert playground.seed_report is not None and playground.seed_report.done == ["demo-data"]
    world = playground.server.world
    admin = playground.personas[-1]
    sent = world.send_text(admin.user_id, "/start")
    reply = world.wait_until(
        lambda: next((m for m in world.bot_messages(admin.user_id) if m.message_id > sent.message_id), None),
        30,
    )
    assert reply.body  # the real bot greets in Vietnamese
    assert world.commands_for(admin.user_id), "the bot sets its command menu"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI: .ci/run installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package (dev extra) is missing"
    )
    with sync_api.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.mark.browser
def test_cadre_signs_in_by_contact_asks_and_sees_the_citation(
    playground: Playground, browser: Any, tmp_path: Path
) -> None:
    cadre, reviewer = playground.personas[0], playground.personas[1]
    context = browser.new_context(viewport={"width": 1200, "height": 860}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{playground.url}#u={cadre.user_id}")
    page.wait_for_selector(f'[data-testid="persona-cadre"].active >> text={cadre.full_name}')
    page.wait_for_selector("#bot-status.online")

    page.fill("#text", "/start")
    page.press("#text", "Enter")
    page.locator(".msg.user", has_text="/start").wait_for()
    page.locator("#keyboard button", has_text="Chia sẻ số điện thoại").click()
    page.locator(".msg.user .contact", has_text=cadre.phone).wait_for()
    page.locator(".msg.bot", has_text="Đã liên kết").wait_for()
    assert page.locator("#keyboard").is_hidden()

    page.fill("#text", "Thời gian luân chuyển cán bộ là bao lâu?")
    page.click("#send-button")
    answer = page.locator(".msg.bot", has_text="Căn cứ").last
    answer.wait_for()
    text = answer.inner_text()
    assert "65-QĐ/TW" in text and "Điều 6" in text
    assert answer.locator("b").count() > 0  # HTML formatting rendered, not shown as tags
    if os.environ.get("CANBO_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    else:
        page.screenshot(path=str(tmp_path / "playground.png"))

    bot_messages = page.locator(".msg.bot").count()
    answer.locator(".inline-row button", has_text="Điều 6").first.click()
    page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages}")
    assert "Điều 6" in page.locator(".msg.bot").last.inner_text()

    page.click("#menu-button")
    page.locator("#commands button", has_text="/hoi").wait_for()
    page.click("#menu-button")

    page.set_input_files(
        "#file-input", files=[{"name": "ghi_chu.txt", "mimeType": "text/plain", "buffer": "Ghi chú".encode()}]
    )
    page.locator(".msg.user .file", has_text="ghi_chu.txt").wait_for()
    uploaded = [m for m in playground.server.world.messages(cadre.user_id) if m.document is not None]
    assert uploaded and uploaded[-1].document is not None and uploaded[-1].document.data == "Ghi chú".encode()

    # A second tab is another person with their own chat.
    other = context.new_page()
    other.goto(f"{playground.url}#u={reviewer.user_id}")
    other.wait_for_selector('[data-testid="persona-reviewer"].active')
    other.locator("#messages .empty", has_text="/start").wait_for()
    assert other.locator(".msg").count() == 0
    other.fill("#text", "/start")
    other.press("#text", "Enter")
    other.locator(".msg.bot").first.wait_for()
    assert page.locator(".msg.user", has_text="/start").count() == 1
    context.close()
