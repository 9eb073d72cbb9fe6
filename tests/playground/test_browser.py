"""`canbo playground` for real: the real bot process, the local Bot API and the page in headless Chromium."""

from __future__ import annotations

import asyncio
import calendar
import os
import re
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.localapi.web import GROUP_CHAT_ID
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
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
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


@contextmanager
def _chats_on_failure(playground: Playground) -> Iterator[None]:
    """On failure, show what each person's chat contains (the page is hard to see in CI)."""
    try:
        yield
    except BaseException:
        world = playground.server.world
        roles = {p.user_id: p.role for p in playground.personas}
        chats = [p.user_id for p in playground.personas] + [GROUP_CHAT_ID]
        for chat_id in chats:
            for message in world.messages(chat_id)[-8:]:
                who = "bot" if message.from_bot else roles.get(message.from_id, str(message.from_id))
                print(
                    f"[{chat_id} {who} #{message.message_id}] {message.body[:300]!r} {message.button_texts}"
                )
        raise


def _open_as(context: Any, playground: Playground, role: str) -> Any:
    person = next(p for p in playground.personas if p.role == role)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{playground.url}#u={person.user_id}")
    page.wait_for_selector(f'[data-testid="persona-{role}"].active')
    page.wait_for_selector("#bot-status.online")
    return page


def _sign_in(page: Any) -> None:
    """/start and share the contact, unless this person already signed in earlier in the module."""
    page.wait_for_timeout(500)  # the first long poll has drawn the history
    if page.locator(".msg.bot", has_text="Đã liên kết").count():
        return
    _send(page, "/start")
    page.locator("#keyboard button", has_text="Chia sẻ số điện thoại").click()
    page.locator(".msg.bot", has_text="Đã liên kết").wait_for()


def _send(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.locator(".msg.user", has_text=text).last.wait_for()


def _press(page: Any, card_text: str, button_text: str) -> None:
    """Press a button (case-sensitive text match) under the newest bot message containing `card_text`."""
    card = page.locator(".msg.bot", has_text=card_text).last
    card.locator(".inline-row button", has_text=re.compile(re.escape(button_text))).first.click()


@pytest.mark.browser
def test_self_assessment_submitted_by_the_cadre_and_approved_by_the_reviewer(
    playground: Playground, browser: Any
) -> None:
    commands = {c["command"] for c in playground.server.world.commands_for(playground.personas[0].user_id)}
    if commands and "danhgia" not in commands and "kehoach" not in commands:
        pytest.skip("this build of the bot has no evaluation flows (/kehoach, /danhgia, /duyet)")
    today = date.today()
    last_day = calendar.monthrange(today.year, today.month)[1]
    context = browser.new_context(viewport={"width": 1200, "height": 860}, locale="vi-VN")
    with _chats_on_failure(playground):
        cadre = _open_as(context, playground, "cadre")
        reviewer = _open_as(context, playground, "reviewer")
        _sign_in(reviewer)
        _sign_in(cadre)

        _send(cadre, "/kehoach")
        _press(cadre, "Kế hoạch công việc", "Thêm việc")
        cadre.locator(".msg.bot", has_text="Gõ một việc theo mẫu").wait_for()
        _send(cadre, f"Rà soát hồ sơ đảng viên | Danh sách rà soát trình Chi ủy | {last_day}/{today.month}")
        cadre.locator(".msg.bot", has_text="Đã lưu việc").wait_for()
        _press(cadre, "Đã lưu việc", "Xong")
        cadre.locator(".msg.bot", has_text="Đã lưu kế hoạch").wait_for()

        _send(cadre, "/danhgia")
        _press(cadre, "Tự đánh giá kỳ", "Rà soát hồ sơ đảng viên")
        _press(cadre, "Kết quả thực hiện?", "Đúng hạn")
        _press(cadre, "Gõ ghi chú", "Bỏ qua")
        _press(cadre, "Chấm điểm Ý thức", "18")
        _press(cadre, "Chấm điểm Kết quả", "63")
        cadre.locator(".msg.bot", has_text="Chấm điểm Điểm thưởng").wait_for()
        _send(cadre, "7,5")  # typed numbers are accepted too
        summary = cadre.locator(".msg.bot", has_text="88,5/100").last
        summary.wait_for()
        _press(cadre, "88,5/100", "Xem lại và gửi")
        _press(cadre, "Kiểm tra trước khi gửi", "Gửi")
        cadre.locator(".msg.bot", has_text="Đã gửi tự đánh giá").wait_for()

        reviewer.locator(".msg.bot", has_text="Nguyễn Văn An").last.wait_for()  # notified of the submission
        _send(reviewer, "/duyet")
        _press(reviewer, "Hồ sơ chờ bạn xử lý", "Nguyễn Văn An")
        _press(reviewer, "Hồ sơ Nguyễn Văn An", "Đồng ý")
        reviewer.locator(".msg.bot", has_text="Đã nhận xét hồ sơ của Nguyễn Văn An").wait_for()
        cadre.locator(".msg.bot", has_text="Người quản lý đã nhận xét").wait_for()
    context.close()


@pytest.mark.browser
def test_staff_requests_the_summary_and_gets_the_chart_and_the_excel_file(
    playground: Playground, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport={"width": 1200, "height": 860}, locale="vi-VN", accept_downloads=True
    )
    staff = _open_as(context, playground, "staff")
    _sign_in(staff)
    staff_id = next(p.user_id for p in playground.personas if p.role == "staff")
    commands = {c["command"] for c in playground.server.world.commands_for(staff_id)}
    if "tonghop" not in commands:
        context.close()
        pytest.skip("this build of the bot has no /tonghop summary for committee staff yet")
    _send(staff, "/tonghop")
    staff.locator(".msg.bot .bubble img").first.wait_for(timeout=60_000)
    image = staff.locator(".msg.bot .bubble img").first
    assert staff.evaluate("(img) => img.complete && img.naturalWidth > 100", image.element_handle())
    link = staff.locator(".msg.bot .file", has_text=".xlsx").first
    link.wait_for(timeout=60_000)
    with staff.expect_download() as download_info:
        link.click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == ".xlsx" and target.read_bytes()[:2] == b"PK"  # a real workbook (zip)
    if os.environ.get("CANBO_UPDATE_SCREENSHOT"):
        staff.locator(".msg.bot .bubble img").first.scroll_into_view_if_needed()
        staff.screenshot(path=str(SCREENSHOT.with_name("playground-summary.png")))
    context.close()


@pytest.mark.browser
def test_group_answers_a_mention_with_citations_and_sends_personal_commands_to_a_private_chat(
    playground: Playground, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 860}, locale="vi-VN")
    with _chats_on_failure(playground):
        cadre = _open_as(context, playground, "cadre")
        reviewer = _open_as(context, playground, "reviewer")
        for page in (cadre, reviewer):
            page.click('[data-testid="tab-group"]')
            page.wait_for_selector('[data-testid="tab-group"].active')
            page.locator("#bot-name", has_text="Nhóm Ban Tổ chức (thử nghiệm)").wait_for()
        hint = cadre.locator("#group-hint")
        assert hint.is_visible() and "@canbo_playground_bot" in hint.inner_text()
        assert "trả lời" in hint.inner_text().lower()

        _send(reviewer, "Chào cả nhóm, chiều nay họp chi bộ nhé")
        cadre.locator(".msg.other", has_text="chiều nay họp chi bộ").wait_for()
        assert cadre.locator(".msg.other .sender").last.inner_text() == "Trần Thị Bình"

        cadre.click(".bot-mention")  # the hint's @name goes into the input
        question = cadre.input_value("#text") + "thời gian luân chuyển cán bộ là bao lâu?"
        assert question.startswith("@canbo_playground_bot ")
        _send(cadre, question)
        answer = cadre.locator(".msg.bot", has_text="Căn cứ").last
        answer.wait_for()
        text = answer.inner_text()
        assert "65-QĐ/TW" in text and "Điều 6" in text
        assert answer.locator(".sender").inner_text() == "Trợ lý Cán bộ (bot)"
        # The other member sees the question (with the asker's name) and the same answer.
        reviewer.locator(".msg.other", has_text="thời gian luân chuyển").wait_for()
        reviewer.locator(".msg.bot", has_text="65-QĐ/TW").last.wait_for()
        # Chatter without a mention got no answer.
        chatter_id = int(
            cadre.locator(".msg.other", has_text="chiều nay họp").get_attribute("data-message-id")
        )
        question_id = int(
            cadre.locator(".msg.user", has_text="luân chuyển").last.get_attribute("data-message-id")
        )
        bot_ids = [m.message_id for m in playground.server.world.bot_messages(GROUP_CHAT_ID)]
        assert not [i for i in bot_ids if chatter_id < i < question_id]
        if os.environ.get("CANBO_UPDATE_SCREENSHOT"):
            cadre.screenshot(path=str(SCREENSHOT.with_name("playground-group.png")))
        else:
            cadre.screenshot(path=str(tmp_path / "playground-group.png"))

        # Inline buttons work in the group as in a private chat.
        bot_messages = cadre.locator(".msg.bot").count()
        answer.locator(".inline-row button", has_text="Điều 6").first.click()
        cadre.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages}")
        assert "Điều 6" in cadre.locator(".msg.bot").last.inner_text()

        # Replying to the bot's message asks it too (no mention needed).
        reviewer.locator(".msg.bot", has_text="Căn cứ").last.locator(".reply-button").click()
        reviewer.locator("#reply-bar", has_text="Trả lời Trợ lý Cán bộ").wait_for()
        bot_messages = reviewer.locator(".msg.bot").count()
        _send(reviewer, "Cán bộ luân chuyển được đánh giá định kỳ thế nào?")
        assert reviewer.locator("#reply-bar").is_hidden()
        reviewer.locator(".msg.user .quote", has_text="Trợ lý Cán bộ").last.wait_for()
        reviewer.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages}")

        # Personal work is redirected to a private chat; the link opens this person's private chat.
        _send(cadre, "/danhgia")
        redirect = cadre.locator(".msg.bot", has_text="chỉ dùng trong tin nhắn riêng").last
        redirect.wait_for()
        redirect.locator("a", has_text="nhắn riêng cho bot").click()
        cadre.wait_for_selector('[data-testid="tab-private"].active')
        cadre.locator("#bot-name", has_text="@canbo_playground_bot").wait_for()
        assert cadre.locator("#group-hint").is_hidden()
        cadre.wait_for_timeout(300)  # the first long poll has drawn the private history
        assert cadre.locator(".msg.other").count() == 0  # the group's messages stay in the group
        assert cadre.locator(".msg", has_text="chiều nay họp chi bộ").count() == 0
        assert "c=" not in cadre.evaluate("location.hash")
        # New messages in the group while the cadre is in the private chat: a mark on the group's tab.
        assert cadre.locator('[data-testid="tab-group"] .unread').is_hidden()
        _send(reviewer, "Cảm ơn, đã rõ")
        cadre.locator('[data-testid="tab-group"] .unread').wait_for()
        cadre.click('[data-testid="tab-group"]')
        cadre.locator(".msg.other", has_text="Cảm ơn, đã rõ").wait_for()
        assert cadre.locator('[data-testid="tab-group"] .unread').is_hidden()
    context.close()
