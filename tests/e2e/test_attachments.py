"""Attachments in the web client: the attach button, paste and drop, the upload tray (progress,
Cancel, Retry, Remove), photos as thumbnails opening the viewer, file chips that download, and
the limits the client checks before uploading."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image
from playwright.sync_api import Route, expect

from tests.integration.live import LiveServer

from .servers import start_server
from .ui import Person

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 20
HTML = b"<!doctype html><script>alert('owned')</script><img src=x onerror=\"alert('again')\"><p>hi</p>"
UPLOADS = re.compile(r"/attachments\?")
URL_TTL_S = 2


def jpeg_with_gps(width: int = 1200, height: int = 800) -> bytes:
    """A photo whose EXIF says where it was taken (which the server must strip)."""
    image = Image.new("RGB", (width, height), (200, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png(width: int = 60, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def chat_between(
    ui, server: LiveServer, sender: str, reader: str, *, mobile: bool = False
) -> tuple[Person, Person]:
    """Two people; the sender opened the 1:1 chat with a first message, which the reader sees."""
    a = ui.person(server.url, sender).sign_up()
    b = ui.person(server.url, reader, mobile=mobile).sign_up()
    a.start_chat(reader)
    a.send("Files coming")
    expect(a.message("Files coming")).to_have_attribute("data-status", "sent")
    b.open_thread(sender)
    b.expect_message("Files coming")
    return a, b


def send_button(person: Person):
    return person.page.locator(".composer").get_by_role("button", name="Send")


def expect_uploaded(person: Person, *names: str) -> None:
    for name in names:
        expect(person.upload(name)).to_have_attribute("data-status", "done", timeout=15_000)
    expect(send_button(person)).to_be_enabled()


def downloaded(person: Person, link) -> tuple[str, bytes]:
    with person.page.expect_download() as info:
        link.click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def test_a_photo_and_a_pdf_go_from_one_person_to_the_other_and_survive_a_reload(server, ui):
    ana, ben = chat_between(ui, server, "ana", "ben")
    photo = jpeg_with_gps()

    # The attach button opens a file picker; both files upload into the tray, then Send.
    attach = ana.page.get_by_role("button", name="Attach files")
    expect(attach).to_be_visible()
    ana.attach(("photo.jpg", "image/jpeg", photo), ("report.pdf", "application/pdf", PDF))
    expect_uploaded(ana, "photo.jpg", "report.pdf")
    expect(ana.upload("photo.jpg").locator("img.upload-thumbnail")).to_be_visible()  # the server's
    ui.screenshot(ana, "attachments-tray")
    send_button(ana).click()  # no text: files alone are a message
    expect(ana.page.locator(".upload-tray")).to_be_hidden()
    sent = ana.message_with_file("report.pdf")
    expect(sent).to_have_attribute("data-status", "sent")
    expect(sent.locator(".bubble")).to_have_count(0)

    # Ben sees the thumbnail (scaled into its box, shape kept) and the PDF's chip, in order.
    row = ben.message_with_file("photo.jpg")
    expect(row).to_be_visible()
    thumbnail = ben.photo("photo.jpg")
    ben.expect_image_loaded(thumbnail)
    expect(thumbnail).to_have_attribute("width", "240")
    expect(thumbnail).to_have_attribute("height", "160")
    assert thumbnail.get_attribute("src").startswith("/attachments/")  # same origin, signed
    expect(row.locator("[data-attachment-id]")).to_have_count(2)
    chip = ben.file_chip("report.pdf")
    expect(chip.locator(".file-size")).to_have_text("1.5 KB")
    expect(chip.locator(".file-icon")).to_have_text("📄")
    expect(chip).to_have_attribute("download", "report.pdf")
    expect(ben.thread("ana").locator(".thread-preview")).to_have_text("📎 photo.jpg and 1 more")
    ui.screenshot(ben, "attachments-received")

    # The viewer: the full image, keyboard first (Enter opens, Escape closes, focus comes back).
    opener = ben.page.get_by_role("button", name="photo.jpg")
    opener.focus()
    ben.page.keyboard.press("Enter")
    viewer = ben.page.get_by_role("dialog", name="photo.jpg")
    expect(viewer).to_be_visible()
    full = viewer.get_by_role("img", name="photo.jpg")
    ben.expect_image_loaded(full)
    assert full.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1200, 800]
    expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    ui.screenshot(ben, "attachments-viewer")
    name, data = downloaded(ben, viewer.get_by_role("link", name="Download"))
    assert name == "photo.jpg"
    served = Image.open(io.BytesIO(data))
    assert served.size == (1200, 800)
    assert served.getexif().get_ifd(0x8825) == {}  # no GPS in what the others get
    ben.page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    expect(opener).to_be_focused()
    opener.click()
    ben.page.get_by_role("dialog", name="photo.jpg").get_by_role("button", name="Close").click()
    expect(ben.page.get_by_role("dialog")).to_have_count(0)

    # The PDF downloads, byte for byte.
    assert downloaded(ben, chip) == ("report.pdf", PDF)

    # A reload keeps them (with the URLs the page reads again).
    for person in (ben, ana):
        person.page.reload()
        person.expect_image_loaded(person.photo("photo.jpg"))
        expect(person.file_chip("report.pdf")).to_be_visible()
    # GET /threads' preview has no files: the loaded page says which they are.
    expect(ben.thread("ana").locator(".thread-preview")).to_have_text("📎 photo.jpg and 1 more")
    expect(ana.thread("ben").locator(".thread-preview")).to_have_text("You: 📎 photo.jpg and 1 more")
    assert downloaded(ben, ben.file_chip("report.pdf")) == ("report.pdf", PDF)


def test_an_uploaded_html_file_is_downloaded_never_rendered(server, ui):
    cleo, dan = chat_between(ui, server, "cleo", "dan")
    cleo.attach(("page.html", "text/html", HTML))
    expect_uploaded(cleo, "page.html")
    cleo.send("Open this")
    dan.expect_message("Open this")
    chip = dan.file_chip("page.html")
    expect(chip).to_be_visible()
    expect(dan.message("Open this").locator(".attachment-file")).to_have_count(1)  # text and file, one row
    assert downloaded(dan, chip) == ("page.html", HTML)

    # Its URL opened as a page of its own is a download too, never a page that runs script.
    url = server.url + chip.get_attribute("href")
    headers = requests.get(url, timeout=10).headers
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["Content-Security-Policy"] == "sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"
    tab = dan.page.context.new_page()
    ui.watch(tab, "dan's second tab")
    with tab.expect_download() as info:
        try:
            tab.goto(url)
        except Exception as error:  # Playwright: "Download is starting"
            assert "Download is starting" in str(error)
    assert Path(info.value.path()).read_bytes() == HTML
    tab.close()
    # The ui fixture fails the test on any alert() or script error.


@pytest.fixture(scope="module")
def small_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A server that takes files of at most 50,000 bytes, two to a message, whose signed URLs
    live 2 to 3 seconds."""
    live = start_server(
        tmp_path_factory.mktemp("e2e-small"),
        MAX_ATTACHMENT_BYTES="50000",
        MAX_ATTACHMENTS_PER_MESSAGE="2",
        ATTACHMENT_URL_TTL_S=str(URL_TTL_S),
    )
    yield live
    live.stop()


def test_a_file_over_the_limit_and_files_past_the_count_are_refused_before_uploading(small_server, ui):
    eve, fay = chat_between(ui, small_server, "eve", "fay")
    notice = eve.page.locator(".composer-error")
    eve.attach(("big.bin", "application/octet-stream", b"x" * 60_000))
    expect(notice).to_have_text("big.bin is 59 KB: files can be at most 49 KB.")
    expect(eve.page.locator(".upload-tray")).to_be_hidden()
    assert not [url for url in ui.urls if UPLOADS.search(url)]  # not a byte went out

    eve.attach(*[(f"n{i}.txt", "text/plain", f"note {i}".encode()) for i in (1, 2, 3)])
    expect(notice).to_have_text("A message can carry at most 2 files: n3.txt was left out.")
    expect_uploaded(eve, "n1.txt", "n2.txt")
    expect(eve.page.locator(".upload-tray .upload")).to_have_count(2)
    eve.upload("n2.txt").get_by_role("button", name="Remove n2.txt").click()
    expect(eve.page.locator(".upload-tray .upload")).to_have_count(1)
    expect(eve.composer).to_be_focused()
    eve.send("Just one")
    expect(fay.message("Just one").locator(".file-name")).to_have_text(["n1.txt"])


def test_images_and_downloads_whose_signed_urls_expired_are_read_again(small_server, ui):
    kim, lou = chat_between(ui, small_server, "kim", "lou")
    answers: list[tuple[int, str]] = []
    lou.page.on("response", lambda r: answers.append((r.status, r.url)))
    lou.open_settings()  # the conversation is loaded but not shown: no <img> is made yet
    kim.attach(("snap.png", "image/png", png()), ("doc.pdf", "application/pdf", PDF))
    expect_uploaded(kim, "snap.png", "doc.pdf")
    send_button(kim).click()
    expect(lou.thread("kim").locator(".thread-preview")).to_have_text("📎 snap.png and 1 more")

    # Hours later (here: past the URLs' life), the conversation is shown: the thumbnail's URL
    # is refused (403 url_expired), the page is read again, and the fresh URL shows it.
    time.sleep(URL_TTL_S + 1.5)
    lou.open_thread("kim")
    lou.expect_image_loaded(lou.photo("snap.png"))
    assert any(status == 403 and "/thumbnail?" in url for status, url in answers)
    assert [url for _, url in answers if "before_seq=" in url]

    # Later again: the viewer's full image and the file's link have expired too.
    time.sleep(URL_TTL_S + 1.5)
    lou.page.get_by_role("button", name="snap.png").click()
    viewer = lou.page.get_by_role("dialog", name="snap.png")
    lou.expect_image_loaded(viewer.get_by_role("img", name="snap.png"))
    lou.page.keyboard.press("Escape")
    time.sleep(URL_TTL_S + 1.5)
    assert downloaded(lou, lou.file_chip("doc.pdf")) == ("doc.pdf", PDF)


def test_cancel_retry_drop_paste_and_a_failed_send_that_keeps_its_files(server, ui):
    gus, hal = chat_between(ui, server, "gus", "hal")
    page = gus.page

    # Dropped on the conversation, held by the network: a progress bar, Send disabled; Cancel.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # never answered: the upload hangs until the page cancels it

    page.route(UPLOADS, hold)
    gus.drop("held.txt", "text/plain", b"held " * 1000)
    row = gus.upload("held.txt")
    expect(row.get_by_role("progressbar", name="Uploading held.txt")).to_be_visible()
    expect(send_button(gus)).to_be_disabled()
    gus.composer.fill("Too early")
    gus.composer.press("Enter")
    expect(page.locator(".composer-error")).to_have_text("Wait until every file is uploaded, then send.")
    expect(gus.message("Too early")).to_have_count(0)
    ui.screenshot(gus, "attachments-uploading")
    row.get_by_role("button", name="Cancel uploading held.txt").click()
    expect(row).to_have_count(0)
    expect(page.locator(".upload-tray")).to_be_hidden()
    expect(page.locator(".composer-error")).to_have_text("")
    page.unroute(UPLOADS)

    # Pasted into the box; the upload fails once: Retry uploads it again.
    page.route(UPLOADS, lambda route: route.abort(), times=1)
    gus.composer.fill("")
    gus.paste("notes.txt", "text/plain", b"my notes")
    failed = gus.upload("notes.txt")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed.locator(".upload-error")).to_have_text(
        "Can't reach the server. Check your connection and try again."
    )
    expect(send_button(gus)).to_be_disabled()
    failed.get_by_role("button", name="Retry uploading notes.txt").click()
    expect_uploaded(gus, "notes.txt")
    expect(gus.composer).to_have_value("")  # the file was attached, not pasted as its name

    # The send fails: the pending message shows its file; Retry sends the same ids, once.
    sends: list[dict] = []
    page.on(
        "request", lambda r: sends.append(json.loads(r.post_data)) if r.url.endswith("/message") else None
    )
    page.route("**/message", lambda route: route.abort(), times=1)
    gus.send("Here are my notes")
    message = gus.message("Here are my notes")
    expect(message).to_have_attribute("data-status", "failed")
    expect(message.locator(".file-name")).to_have_text("notes.txt")
    message.get_by_role("button", name="Retry").click()
    expect(gus.message("Here are my notes")).to_have_attribute("data-status", "sent")
    hal.expect_message("Here are my notes")
    expect(hal.message("Here are my notes").locator(".file-name")).to_have_text("notes.txt")
    assert downloaded(hal, hal.file_chip("notes.txt")) == ("notes.txt", b"my notes")
    first, second = (body["message"] for body in sends)
    assert first["client_msg_id"] == second["client_msg_id"]
    assert first["attachments"] == second["attachments"] and len(first["attachments"]) == 1
    expect(hal.page.locator(".message-list .msg")).to_have_count(2)


def test_a_file_alone_can_start_a_chat(server, ui):
    mia = ui.person(server.url, "mia").sign_up()
    ned = ui.person(server.url, "ned").sign_up()
    mia.start_chat("ned")  # a draft: the thread is made by its first message
    mia.attach(("plan.pdf", "application/pdf", PDF))
    expect_uploaded(mia, "plan.pdf")
    mia.composer.press("Enter")  # an empty box with a file sends the file
    expect(mia.message_with_file("plan.pdf")).to_have_attribute("data-status", "sent")
    expect(mia.page).to_have_url(re.compile(r"#/t/"))
    expect(ned.thread("mia").locator(".thread-preview")).to_have_text("📎 plan.pdf")
    ned.open_thread("mia")
    assert downloaded(ned, ned.file_chip("plan.pdf")) == ("plan.pdf", PDF)


def test_photos_at_phone_width(server, ui):
    ivy, jon = chat_between(ui, server, "ivy", "jon", mobile=True)
    expect(jon.page.get_by_role("button", name="Attach files")).to_be_visible()
    jon.attach(("wide.png", "image/png", png(1600, 400)))
    expect_uploaded(jon, "wide.png")
    send_button(jon).click()
    expect(jon.message_with_file("wide.png")).to_have_attribute("data-status", "sent")
    image = jon.photo("wide.png")
    jon.expect_image_loaded(image)
    box = image.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # inside the phone's screen
    assert abs(box["width"] / box["height"] - 4) < 0.1  # its shape kept
    ui.screenshot(jon, "attachments-phone")
    image.click()
    viewer = jon.page.get_by_role("dialog", name="wide.png")
    full = viewer.get_by_role("img", name="wide.png")
    jon.expect_image_loaded(full)
    shown = full.bounding_box()
    assert shown["width"] <= 390 and abs(shown["width"] / shown["height"] - 4) < 0.1
    viewer.get_by_role("button", name="Close").click()
    ivy.expect_image_loaded(ivy.photo("wide.png"))
    expect(ivy.thread("jon").locator(".thread-preview")).to_have_text("📷 Photo")
