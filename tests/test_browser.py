"""The pages in a real browser: Playwright driving Debian's chromium against a waitress server.

Screenshots go to test-artifacts/ (gitignored); the search page with results is also
saved as docs/screenshot.png for the README when that is missing or UPDATE_SCREENSHOT=1.
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import docx
import pytest

from search.config import PROJECT_ROOT
from web.server import make_server

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (`make chromium`); never `playwright install`
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="session")
def live_server(engine):
    """The app on a real waitress server on a free port of 127.0.0.1."""
    engine.semantic()  # load the model now, not during the first test's page load
    server = make_server(engine, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, live_server, **context_options):
    """A page in a fresh context (own localStorage); JS errors and CSP violations are collected."""
    options = {"base_url": live_server, "viewport": {"width": 1280, "height": 900}, "locale": "zh-CN",
               "permissions": ["clipboard-read", "clipboard-write"], **context_options}
    context = browser.new_context(**options)
    context.set_default_navigation_timeout(90_000)  # a busy CI machine answers slowly
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    return page


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server)
    yield page
    problems = page.problems
    page.context.close()
    assert not problems, problems


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def search(page, query: str, mode_label: str | None = None) -> None:
    page.goto("/")
    page.fill("#q", query)
    if mode_label:
        page.click(f".mode-switch label:has-text('{mode_label}')")  # no query yet: nothing is submitted
    with page.expect_navigation():
        page.press("#q", "Enter")


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def test_typing_a_query_shows_marked_results(page):
    search(page, "专精特新")
    assert "/search?q=" in page.url and "mode=hybrid" in page.url
    first = page.locator(".hit").first
    sync_api.expect(first.locator("mark").first).to_be_visible()
    assert "专精特新" in page.locator(".hit mark").first.inner_text()
    sync_api.expect(page.locator(".result-stats")).to_contain_text("条结果")
    shoot(page, "search")
    if os.environ.get("UPDATE_SCREENSHOT") or not README_SCREENSHOT.exists():  # a tracked file: not on every run
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOT))


def test_switching_to_ask_mode_marks_the_answer_sentence(page):
    search(page, "涪陵打算怎么吸引海外人才？")
    with page.expect_navigation():
        page.click(".mode-switch label:has-text('语义问答')")  # a query is there: the switch searches again
    assert "mode=ask" in page.url
    sync_api.expect(page.locator(".answer-box")).to_contain_text("答：")
    sync_api.expect(page.locator(".answer-box")).to_contain_text("置信度")
    sync_api.expect(page.locator(".hit mark.answer").first).to_be_visible()
    shoot(page, "ask")


def test_a_question_without_answer_is_said_plainly(page):
    search(page, "上海的个人所得税起征点是多少？", "语义问答")
    sync_api.expect(page.locator(".answer-box")).to_contain_text("文件中没有找到能回答这个问题的内容")
    if page.locator(".related-hit").count():
        sync_api.expect(page.locator(".related .section-title")).to_have_text("可能相关（不是答案）")
    shoot(page, "ask-refused")


def test_a_citation_leads_to_the_marked_passage_in_the_reader(page):
    search(page, "科技特派员", "关键词")
    link = page.locator(".hit [data-citation-link]").nth(2)
    href = link.get_attribute("href")
    doc_path, passage_id = href.split("#")
    with page.expect_navigation():
        link.click()
    assert page.url.endswith(href)
    target = page.locator(".passage.is-target")
    sync_api.expect(target).to_have_count(1)
    assert target.get_attribute("id") == passage_id
    assert page.evaluate("document.querySelector(':target').id") == passage_id
    sync_api.expect(target).to_be_in_viewport()
    assert "科技特派员" in target.inner_text()
    shoot(page, "reader")


def test_copy_quotation_whole_passage_and_selection(page):
    search(page, "页岩气 制氢", "关键词")
    hit = page.locator(".hit").first
    text, citation = hit.get_attribute("data-text"), hit.get_attribute("data-citation")
    hit.locator("[data-copy-quote]").click()
    sync_api.expect(page.locator("[data-toast]")).to_have_text("已复制引文")
    assert clipboard(page) == f"“{text}”（{citation}）"

    # Select part of the passage: only that part is quoted.
    selected = hit.evaluate("""el => {
        const node = el.querySelector('[data-quote-text]').firstChild;
        const range = document.createRange();
        range.setStart(node, 0);
        range.setEnd(node, Math.min(12, node.textContent.length));
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        return range.toString();
    }""")
    hit.locator("[data-copy-quote]").click()
    assert clipboard(page) == f"“{selected.strip()}”（{citation}）"


def test_copy_falls_back_without_the_clipboard_api(browser, live_server):
    """Plain-HTTP deployments have no navigator.clipboard: the textarea + execCommand path copies."""
    page = open_page(browser, live_server, permissions=[])
    page.add_init_script("""
        Object.defineProperty(navigator, 'clipboard', {value: undefined});
        document.addEventListener('copy', () => {
            const area = document.activeElement;
            window.copied = area.value.slice(area.selectionStart, area.selectionEnd);
        });
    """)
    page.goto("/doc/fuling-plan")
    passage = page.locator("div.passage").nth(5)
    passage.hover()
    passage.locator("[data-copy-quote]").click()
    sync_api.expect(page.locator("[data-toast]")).to_have_text("已复制引文")
    text = passage.locator("[data-quote-text]").text_content()
    expected = f"“{text}”（{passage.get_attribute('data-citation')}）"
    assert page.evaluate("window.copied") == expected
    assert not page.problems, page.problems
    page.context.close()


def test_basket_collects_quotes_and_exports_markdown_and_docx(page):
    search(page, "科技特派员", "关键词")
    hits = page.locator(".hit")
    quotes = [(hits.nth(i).get_attribute("data-text"), hits.nth(i).get_attribute("data-citation")) for i in (0, 1)]
    for i in (0, 1):
        hits.nth(i).locator("[data-add-quote]").click()
    hits.nth(0).locator("[data-add-quote]").click()  # the same quote twice is kept once
    sync_api.expect(page.locator("[data-basket-count]")).to_have_text("2")

    page.click(".site-nav a:has-text('引文篮')")
    sync_api.expect(page.locator(".basket-item")).to_have_count(2)
    shoot(page, "basket")
    with page.expect_download() as download_info:
        page.click("[data-export='markdown']")
    download = download_info.value
    assert download.suggested_filename.endswith(".md")
    markdown = Path(download.path()).read_text(encoding="utf-8")
    for text, citation in quotes:
        assert f"> “{text}”" in markdown and f"> {citation}" in markdown

    with page.expect_download() as download_info:
        page.click("[data-export='docx']")
    paragraphs = [p.text for p in docx.Document(io.BytesIO(Path(download_info.value.path()).read_bytes())).paragraphs]
    for text, citation in quotes:
        assert f"“{text}”" in paragraphs and citation in paragraphs

    page.locator(".basket-item").first.locator("[data-remove-quote]").click()
    sync_api.expect(page.locator(".basket-item")).to_have_count(1)
    sync_api.expect(page.locator("[data-basket-count]")).to_have_text("1")


def test_verify_page_checks_a_pasted_draft(page, engine):
    first, second = [p.text for p in engine.document("nanchuan-plan").passages
                     if p.kind == "paragraph" and len(p.text) > 40 and "“" not in p.text[:30]][:2]
    quote, changed = first[:30], second[:10] + "大力" + second[12:30]
    page.goto("/verify")
    page.fill("#draft", f"南川规划写道：“{quote}”，又说“{changed}”，还说“这句话在所有文件中都不会出现的虚构内容”。")
    with page.expect_navigation():
        page.click(".verify-form button[type=submit]")
    sync_api.expect(page.locator(".check .badge")).to_have_text(["原文一致", "有出入", "未找到"])
    sync_api.expect(page.locator(".status-differs .diff ins, .status-differs .diff del").first).to_be_visible()
    shoot(page, "verify")
    with page.expect_download() as download_info:
        page.click("[data-export='markdown']")
    markdown = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert quote in markdown and "《重庆市南川区科技创新“十四五”规划" in markdown


def test_phone_layout_does_not_scroll_sideways(browser, live_server):
    page = open_page(browser, live_server, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    for url, name in (("/search?q=专精特新&mode=keyword", "phone-search"), ("/doc/beibei-plan", "phone-reader")):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), url
        shoot(page, name)
    assert not page.problems, page.problems
    page.context.close()
