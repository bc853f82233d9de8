"""Field work on a phone (contract §9) in Chromium at 360 × 740 with touch: the page knows who
is signed in and shows only what the role may do."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlalchemy.orm import Session

from domain.breach import Severity
from services.db.models import Photo
from services.tickets.reads import TicketFilter
from tests.browser.conftest import Server, login, shot

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A phone: small viewport, touch, mobile layout."""
    ctx = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def until_true(page: Page, expression: str, timeout_s: float = 10.0) -> None:
    """Poll `expression` with `page.evaluate` (run by the browser's debugger, outside the
    page's CSP): `wait_for_function` evaluates its string with eval inside the page, which
    the dashboard's CSP (no 'unsafe-eval') refuses whenever the first check is not yet true."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        time.sleep(0.05)


def no_horizontal_scroll(page: Page) -> None:
    """Nothing is wider than the phone: neither the page nor any element on it."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
             .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5)
             .map((e) => `${e.tagName}.${e.className}`).slice(0, 5)""",
        PHONE["width"],
    )
    assert not wide, f"wider than the phone: {wide}"


def test_an_officer_sees_no_write_controls_in_either_language(page: Page, server: Server) -> None:
    login(page, server, "officer", f"#/ticket/{server.tickets['oxygen']}")
    expect(page.locator("span.whoami")).to_contain_text("督查")
    expect(page.locator(".read-only")).to_be_visible()
    for control in (
        "button.ack",
        "button.resolve",
        "button.comment",
        "button.arrive",
        "form.maint-form",
    ):
        expect(page.locator(control)).to_have_count(0)
    page.click("button.lang")
    expect(page.locator("span.whoami")).to_contain_text("officer")
    expect(page.locator(".read-only")).to_contain_text("Read only")
    expect(page.locator("button.ack")).to_have_count(0)


def test_a_crew_member_sees_the_actions(page: Page, server: Server) -> None:
    login(page, server, "crew", f"#/ticket/{server.tickets['oxygen']}")
    expect(page.locator("span.whoami")).to_contain_text("网格员")
    expect(page.locator("button.ack")).to_be_visible()
    expect(page.locator(".read-only")).to_have_count(0)


def phone_photo() -> bytes:
    """A real JPEG with GPS in its EXIF, as a phone camera writes it."""
    im = Image.new("RGB", (1600, 1200), (60, 140, 90))
    for x in range(0, 1600, 50):
        im.paste((230, 200, 40), (x, 0, x + 12, 1200))
    e = Image.Exif()
    e[0x010F] = "PhoneMaker"
    gps = e.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 9.0, 7.2)
    out = io.BytesIO()
    im.save(out, "JPEG", exif=e, quality=92)
    return out.getvalue()


def test_on_a_phone_a_crew_member_acknowledges_arrives_and_resolves_with_a_photo(
    page: Page, context: BrowserContext, server: Server
) -> None:
    tid = server.breach(
        "pond-01",
        "pond.ammonia",
        Severity.WARNING,
        metric="nh3n",
        value=9.1,
        threshold=8.0,
        comparison="above",
    )
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 31.1521, "longitude": 121.1241})
    login(page, server, "crew", "#/queue")
    card = page.locator(f'a.queue-card[data-ticket="{tid}"]')
    expect(card).to_be_visible()
    expect(page.locator("table.tickets")).to_be_hidden()  # cards, not a wide table
    no_horizontal_scroll(page)
    shot(page, "field-01-queue")
    card.tap()
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "open")
    expect(page.locator("a.geo")).to_have_attribute("href", re.compile(r"^geo:31\.152,121\.124"))
    ack = page.locator("button.ack")
    box = ack.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # a thumb's target
    ack.tap()
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "acknowledged")
    page.locator("button.arrive").tap()
    on_site = page.locator('ol.timeline li[data-event="on_site"]')
    expect(on_site).to_contain_text("31.152100,121.124100")
    expect(on_site).to_contain_text("crew-east")
    no_horizontal_scroll(page)
    shot(page, "field-02-ticket")
    page.wait_for_timeout(500)  # the live events of the two taps have come by now
    expect(page.locator(".toast")).to_have_count(0)  # the ticket on screen shows them in place
    other = server.breach("water-01", "water.turbidity", Severity.WARNING, metric="turbidity")
    toast = page.locator(".toast", has_text=f"#{other}")
    expect(toast).to_be_visible()
    box = toast.bounding_box()
    assert box is not None
    assert box["y"] < 100  # at the top, over no action button
    toast.tap()
    expect(toast).to_have_count(0)

    page.fill("input.resolve-note", "更换了曝气泵")
    page.set_input_files(
        "input.resolve-photo",
        files=[{"name": "IMG_2001.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}],
    )
    page.locator("button.resolve").tap()
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "resolved")
    resolved = page.locator('ol.timeline li[data-event="resolved"]')
    expect(resolved.locator("img.timeline-photo")).to_have_count(1)
    expect(page.locator("img.photo-thumb")).to_have_count(1)
    expect(page.locator("img.photo-thumb")).to_have_js_property("complete", True)
    until_true(page, "document.querySelector('img.photo-thumb')?.naturalWidth > 0")
    no_horizontal_scroll(page)
    shot(page, "field-03-resolved-with-photo")
    t = server.hub.tickets.reads.get(tid)
    [p] = t.photos
    stored = Image.open(io.BytesIO(server.hub.photo_store.read(p.id, None)))
    assert len(stored.getexif()) == 0
    assert t.events[-1].photos == [p.id]


def test_a_phone_signs_in_by_link_stays_signed_in_and_the_link_works_once(
    page: Page, browser: Browser, server: Server
) -> None:
    server.hub.tokens.create("w-wang", "crew", ("grid-east",), display_name="王师傅")
    link = server.hub.sign_in_links.create("w-wang", "test")
    url = link.url(server.url)
    page.goto(url)
    expect(page.locator("span.whoami")).to_contain_text("王师傅")
    assert "signin" not in page.url  # the secret leaves the address bar and the history
    token = page.evaluate("localStorage.getItem('gridwatch.token')")
    assert token.startswith("gw_")
    page.reload()  # the phone stays signed in
    expect(page.locator("span.whoami")).to_contain_text("王师傅")
    tid = server.breach("sewer-01", "sewer.level_high", Severity.WARNING)
    page.goto(f"{server.url}/#/ticket/{tid}")
    page.locator("button.ack").tap()
    expect(page.locator('ol.timeline li[data-event="acknowledged"]')).to_contain_text("王师傅")

    other = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    second = other.new_page()
    second.goto(url)
    expect(second.locator(".login-error")).to_contain_text("used already")
    assert second.evaluate("localStorage.getItem('gridwatch.token')") is None
    other.close()


def test_a_resident_reports_a_problem_with_a_photo_and_is_rate_limited(
    context: BrowserContext, server: Server
) -> None:
    page = context.new_page()  # the 429 is expected: not the fixture's page, which fails on it
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for i in range(3):  # the per-client limit (GRIDWATCH_FIELD_RESIDENT_REPORTS_PER_CLIENT)
        page.goto(f"{server.url}/r/pond-02")
        expect(page.locator("p.asset")).to_contain_text("西湖")
        if i == 0:
            no_horizontal_scroll(page)
            shot(page, "field-04-resident-form")
        page.locator("label.choice", has_text="死鱼").tap()
        if i == 0:
            page.set_input_files(
                "input[name=file]",
                files=[{"name": "fish.jpg", "mimeType": "image/jpeg", "buffer": phone_photo()}],
            )
            page.fill("input[name=phone]", "138 0000 5678")
        page.locator("button.submit").tap()
        expect(page.locator("p.thanks")).to_contain_text("R-")
    page.goto(f"{server.url}/r/pond-02")
    page.locator("button.lang").tap()
    page.locator("label.choice", has_text="dead fish").tap()
    page.locator("button.submit").tap()
    expect(page.locator("p.result")).to_contain_text("Too many reports")
    body = page.locator("body").inner_text()
    assert "#" not in body  # no ticket numbers, no ticket data on the public page
    found = server.hub.tickets.reads.find(TicketFilter(sensor="pond-02"))
    [t] = [t for t in found if t.rule == "resident.report"]
    assert (t.grid, t.occurrences, t.status) == ("grid-west", 3, "open")
    assert not errors


def test_a_label_address_opens_the_sensor_page_after_sign_in(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/s/pond-01")  # what the label's QR code holds
    page.fill("#token", server.tokens["crew"])
    page.locator("button.submit").tap()
    view = page.locator('section.sensor-view[data-sensor="pond-01"]')
    expect(view.locator("h1")).to_contain_text("pond-01")
    expect(view.locator(f'a.queue-card[data-ticket="{server.tickets["oxygen"]}"]')).to_be_visible()
    expect(view.locator("dl.last-reading")).to_contain_text("溶解氧")
    no_horizontal_scroll(page)


def test_offline_actions_wait_on_the_phone_are_sent_in_order_and_a_conflict_shows(
    context: BrowserContext, server: Server
) -> None:
    page = context.new_page()  # offline fetches and the 409 are expected console errors
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    tid = server.breach("water-01", "water.pressure_low", Severity.WARNING)
    login(page, server, "crew", f"#/ticket/{tid}")
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "open")
    context.set_offline(True)
    page.locator("button.ack").tap()
    expect(page.locator(".action-result")).to_contain_text("离线")
    page.fill("input.comment-text", "阀门已关，等配件")
    page.locator("button.comment").tap()
    pending = page.locator("li.outbox-entry.pending")
    expect(pending).to_have_count(2)
    expect(pending.first).to_contain_text("确认接单")
    no_horizontal_scroll(page)
    shot(page, "field-06-offline-pending")
    assert server.hub.tickets.reads.get(tid).status == "open"  # nothing reached the hub
    context.set_offline(False)
    expect(pending).to_have_count(0)
    expect(page.locator(".ticket-status")).to_have_attribute("data-status", "acknowledged")
    kinds = [e.kind for e in server.hub.tickets.reads.get(tid).events]
    assert kinds[-2:] == ["acknowledged", "commented"]  # in the order they were taken

    context.set_offline(True)
    page.fill("input.resolve-note", "已修复")
    page.locator("button.resolve").tap()
    expect(pending).to_have_count(1)
    server.hub.tickets.actions.resolve(
        tid, "crew-west", "远程处理", None
    )  # someone else, meanwhile
    context.set_offline(False)
    conflict = page.locator("li.outbox-entry.conflict")
    expect(conflict).to_contain_text("冲突")
    expect(conflict).to_contain_text("already resolved")
    conflict.locator("button.dismiss").tap()
    expect(conflict).to_have_count(0)
    assert not errors


def test_a_reload_without_network_still_shows_the_last_queue(
    context: BrowserContext, server: Server
) -> None:
    page = context.new_page()  # offline requests are expected console errors
    login(page, server, "crew", "#/queue")
    until_true(page, "!!(navigator.serviceWorker && navigator.serviceWorker.controller)")
    page.reload()  # this load goes through the shell and fills its cache
    expect(page.locator("a.queue-card").first).to_be_visible()
    count = page.locator("a.queue-card").count()
    context.set_offline(True)
    page.reload()
    expect(page.locator("a.queue-card")).to_have_count(count)
    expect(page.locator("span.whoami")).to_contain_text("crew-east")
    context.set_offline(False)


def camera_photo(w: int = 4000, h: int = 3000) -> bytes:
    """A 12 Mpx camera-sized JPEG of about 4 MB (smooth noise compresses like a real scene)."""

    def noise(sigma: int) -> Image.Image:
        return Image.effect_noise((w // 4, h // 4), sigma).resize((w, h))

    im = Image.merge("RGB", (noise(60), Image.linear_gradient("L").resize((w, h)), noise(40)))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92)
    return out.getvalue()


def multipart_file(body: bytes) -> bytes:
    """The file part of a one-file multipart/form-data body."""
    head_end = body.index(b"\r\n\r\n") + 4
    return body[head_end : body.rindex(b"\r\n--")]


def test_the_phone_shrinks_a_big_photo_before_it_goes(
    page: Page, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    tid = server.breach("sewer-01", "sewer.blockage", Severity.WARNING)
    max_side = server.hub.settings.field.photo_max_side_px
    big = camera_photo()
    sent: list[bytes] = []

    def record(route: Route) -> None:
        if route.request.method == "POST":
            sent.append(route.request.post_data_buffer or b"")
        route.continue_()

    page.route(re.compile(r"/api/v1/tickets/\d+/photos$"), record)
    login(page, server, "crew", f"#/ticket/{tid}")
    assert page.evaluate("JSON.parse(localStorage.getItem('gridwatch.me')).photo_max_side_px") == (
        max_side
    )
    page.set_input_files(
        "input.add-photo",
        files=[{"name": "IMG_4000.jpg", "mimeType": "image/jpeg", "buffer": big}],
    )
    expect(page.locator("img.photo-thumb")).to_have_count(1)

    [body] = sent
    upload = multipart_file(body)
    with Image.open(io.BytesIO(upload)) as im:
        assert im.format == "JPEG"
        assert max(im.size) == max_side  # 4000 × 3000 went as 2048 × 1536
        assert im.size == (max_side, max_side * 3 // 4)
        assert len(im.getexif()) == 0
    assert len(upload) < len(big) / 4
    [p] = server.hub.tickets.reads.get(tid).photos
    with Session(server.hub.engine) as s:
        row = s.get(Photo, p.id)
        assert row is not None
        assert row.received_bytes == len(upload)  # what the server got was already small
        assert max(row.width, row.height) == max_side
    with capsys.disabled():
        print(f"\nphoto upload: {len(big) / 1e6:.2f} MB picked, {len(upload) / 1e3:.0f} KB sent")


def test_a_file_the_browser_cannot_decode_goes_as_it_is(page: Page, server: Server) -> None:
    login(page, server, "crew", "#/queue")
    same = page.evaluate(
        """async () => {
             const { shrinkPhoto } = await import('/static/js/shrink.js');
             const junk = new File([new Uint8Array([1, 2, 3, 4])], 'x.jpg', { type: 'image/jpeg' });
             const same = async (side) => (await shrinkPhoto(junk, side)) === junk;
             return [await same(2048), await same(0)];
           }"""
    )
    assert same == [True, True]
