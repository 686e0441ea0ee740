"""messenger.media: sniffed types, the served copy without metadata, thumbnails, bombs refused.

Every image is made here with Pillow (or by hand, byte by byte, for what Pillow will not write:
a bomb's header, a GIF comment, trailers), so no binary fixture is committed.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from messenger import media
from messenger.config import MAX_IMAGE_PIXELS_CEILING, Settings
from messenger.errors import ImageTooLarge, InvalidImage

MAX_PIXELS = Settings().max_image_pixels
ROOT = Path(__file__).resolve().parents[2]
GPS_IFD = 0x8825
# What a served copy must never hold: the GPS values, the maker, the camera's serial, words.
SECRETS = (b"Acme Phone", b"SN-4242", b"Jane Doe", b"xmp-secret", b"a private comment")
LATITUDE = (48.0, 51.0, 29.0)
# The GPS latitude as EXIF stores it: three rationals, in either byte order.
LATITUDE_BYTES = tuple(b"".join(struct.pack(f"{order}II", int(v), 1) for v in LATITUDE) for order in "<>")


def picture(size=(96, 64), mode="RGB") -> Image.Image:
    """A picture whose neighbouring pixels differ (noise over gradients): a re-encoding would show."""
    gradient = Image.linear_gradient("L")
    bands = (gradient.resize(size), gradient.rotate(90).resize(size), Image.effect_noise(size, 64))
    return Image.merge("RGB", bands).convert(mode)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme Phone"
    exif[ExifTags.Base.Artist] = "Jane Doe"
    exif[ExifTags.Base.DateTime] = "2026:07:14 10:00:00"
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SN-4242"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description dc:creator="xmp-secret"/></x:xmpmeta>'
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def pixels(path: Path, frame: int = 0) -> bytes:
    with Image.open(path) as image:
        image.seek(frame)
        return image.convert("RGBA").tobytes()


def served(path: Path, tmp_path: Path, max_pixels: int = MAX_PIXELS) -> Path:
    """Strip ``path``, which must hold secrets for the test to mean anything."""
    assert any(secret in path.read_bytes() for secret in SECRETS)
    out = tmp_path / f"served-{path.name}"
    media.strip_metadata(path, out, max_pixels=max_pixels)
    return out


def assert_no_secrets(path: Path) -> None:
    data = path.read_bytes()
    for secret in SECRETS + LATITUDE_BYTES:
        assert secret not in data
    with Image.open(path) as image:
        exif = image.getexif()
        assert set(exif) <= {ExifTags.Base.Orientation}
        assert GPS_IFD not in exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert not image.info.get("xmp") and "comment" not in image.info


def png_chunk_types(path: Path) -> list[bytes]:
    data, at, types = path.read_bytes(), 8, []
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        types.append(kind)
        at += 12 + length
    return types


def webp_chunks(path: Path) -> dict[bytes, bytes]:
    data, at, chunks = path.read_bytes(), 12, {}
    while at < len(data):
        kind, size = struct.unpack("<4sI", data[at : at + 8])
        chunks[kind] = data[at + 8 : at + 8 + size]
        at += 8 + size + (size & 1)
    return chunks


class TestSniffing:
    @pytest.mark.parametrize(
        "body, content_type",
        [
            (b"<!doctype html><html><script>alert(1)</script></html>", media.TEXT_PLAIN),
            (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', media.TEXT_PLAIN),
            (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', media.TEXT_PLAIN),
            ("Ça va ? 日本語 ✓\n".encode() * 100, media.TEXT_PLAIN),
            ("é".encode() * 5000, media.TEXT_PLAIN),  # the head cuts a character in two
            (b"text\x00with a NUL", media.OCTET_STREAM),
            ("latin-1: café".encode("latin-1"), media.OCTET_STREAM),
            (random.Random(1).randbytes(10_000), media.OCTET_STREAM),
            (b"", media.OCTET_STREAM),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
        ],
        ids=["html", "svg", "svg-xml", "text", "text-cut", "nul", "latin-1", "random", "empty", "pdf"],
    )
    def test_files_without_an_image_signature_are_never_images(self, tmp_path, body, content_type):
        path = tmp_path / "upload"
        path.write_bytes(body)
        assert media.inspect(path, max_pixels=MAX_PIXELS) == media.Inspected(content_type, is_image=False)

    def test_a_pdf_made_by_pillow_is_sniffed_as_a_pdf(self, tmp_path):
        inspected = media.inspect(save(picture(), tmp_path / "doc.pdf"), max_pixels=MAX_PIXELS)
        assert inspected == media.Inspected("application/pdf", is_image=False)

    @pytest.mark.parametrize(
        "name, content_type",
        [("a.jpg", "image/jpeg"), ("a.png", "image/png"), ("a.webp", "image/webp"), ("a.gif", "image/gif")],
    )
    def test_the_four_image_types_are_sniffed_whatever_the_file_is_called(self, tmp_path, name, content_type):
        path = save(picture((30, 20)), tmp_path / name)
        misnamed = path.rename(tmp_path / "report.html")
        assert media.inspect(misnamed, max_pixels=MAX_PIXELS) == media.Inspected(content_type, True, 30, 20)

    @pytest.mark.parametrize("name, content_type", [("a.bmp", "image/bmp"), ("a.tiff", "image/tiff")])
    def test_other_image_types_keep_their_type_but_are_plain_files(self, tmp_path, name, content_type):
        path = save(picture(), tmp_path / name)
        assert media.inspect(path, max_pixels=MAX_PIXELS) == media.Inspected(content_type, is_image=False)

    def test_an_open_file_is_read_from_its_start(self, tmp_path):
        path = save(picture((30, 20)), tmp_path / "a.png")
        with open(path, "rb") as file:
            file.seek(100)
            assert media.inspect(file, max_pixels=MAX_PIXELS).content_type == "image/png"
        buffer = io.BytesIO(path.read_bytes())
        assert media.inspect(buffer, max_pixels=MAX_PIXELS) == media.Inspected("image/png", True, 30, 20)

    def test_an_animated_png_is_a_png(self, tmp_path):
        path = save(picture(), tmp_path / "a.png", save_all=True, append_images=[picture().rotate(180)])
        assert media.inspect(path, max_pixels=MAX_PIXELS).content_type == "image/png"


class TestJpeg:
    @pytest.mark.parametrize(
        "mode, options",
        [
            ("RGB", {}),
            ("RGB", {"progressive": True}),
            ("RGB", {"restart_marker_rows": 1}),
            ("RGB", {"quality": 100, "subsampling": 0}),
            ("L", {}),
            ("CMYK", {}),  # with Adobe's APP14, which says how to read its colours
        ],
        ids=["baseline", "progressive", "restart-markers", "q100", "grey", "cmyk"],
    )
    def test_the_served_copy_has_no_exif_gps_xmp_or_comment_and_the_very_same_pixels(
        self, tmp_path, mode, options
    ):
        original = save(
            picture((120, 80), mode),
            tmp_path / "photo.jpg",
            exif=exif_with_gps(),
            xmp=XMP,
            comment=b"a private comment",
            **options,
        )
        assert Image.open(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        assert b"Exif" not in copy.read_bytes()  # orientation 1: no Exif at all
        assert pixels(copy) == pixels(original)
        assert Image.open(copy).mode == mode

    def test_the_icc_profile_and_jfif_density_are_kept(self, tmp_path):
        original = save(
            picture(), tmp_path / "photo.jpg", exif=exif_with_gps(), icc_profile=SRGB, dpi=(300, 300)
        )
        with Image.open(served(original, tmp_path)) as copy:
            assert copy.info["icc_profile"] == SRGB and copy.info["dpi"] == (300, 300)

    def test_a_sideways_photo_keeps_its_orientation_alone(self, tmp_path):
        original = save(picture(), tmp_path / "photo.jpg", exif=exif_with_gps(orientation=6))
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        with Image.open(copy) as image:
            assert dict(image.getexif()) == {ExifTags.Base.Orientation: 6}
        assert pixels(copy) == pixels(original)
        assert media.inspect(copy, max_pixels=MAX_PIXELS) == media.inspect(original, max_pixels=MAX_PIXELS)

    def test_an_orientation_written_in_xmp_only_is_kept_as_exif(self, tmp_path):
        xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
        original = save(picture(), tmp_path / "photo.jpg", xmp=xmp)
        media.strip_metadata(original, tmp_path / "copy.jpg", max_pixels=MAX_PIXELS)
        with Image.open(tmp_path / "copy.jpg") as copy:
            assert dict(copy.getexif()) == {ExifTags.Base.Orientation: 8} and "xmp" not in copy.info

    def test_what_follows_the_image_and_unknown_app_segments_are_dropped(self, tmp_path):
        original = save(picture(), tmp_path / "photo.jpg")
        data = original.read_bytes()
        maker = b"\xff\xe9" + struct.pack(">H", 2 + 10) + b"SN-4242\x00\x00\x00"  # an APP9 of a maker
        # A second image after EOI, as MPF and motion photos append, with a location of its own.
        trailer = save(picture(), tmp_path / "second.jpg", exif=exif_with_gps()).read_bytes()
        original.write_bytes(data[:2] + maker + data[2:] + trailer)
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        assert copy.read_bytes() == data

    def test_a_multi_picture_file_is_served_as_its_first_picture_alone(self, tmp_path):
        """Phones write MPF (APP2) and append a second picture (a depth map, a gain map)."""
        first = picture((200, 100))
        original = save(
            first, tmp_path / "photo.mpo", format="MPO", save_all=True, append_images=[first.rotate(180)]
        )
        assert Image.open(original).n_frames == 2
        media.strip_metadata(original, tmp_path / "copy.jpg", max_pixels=MAX_PIXELS)
        with Image.open(tmp_path / "copy.jpg") as copy:
            assert (copy.format, getattr(copy, "n_frames", 1), "mp" in copy.info) == ("JPEG", 1, False)
        assert pixels(tmp_path / "copy.jpg") == pixels(original)

    def test_a_jfif_preview_is_dropped_and_its_density_kept(self, tmp_path):
        data = save(picture(), tmp_path / "photo.jpg", dpi=(72, 72)).read_bytes()
        assert data[2:4] == b"\xff\xe0" and data[4:6] == b"\x00\x10"  # JFIF, without a preview
        preview = b"SN-4242" + bytes(5)  # 2 x 2 RGB pixels, whatever they show
        app0 = b"\xff\xe0" + struct.pack(">H", 16 + 12) + data[6:18] + b"\x02\x02" + preview
        original = tmp_path / "preview.jpg"
        original.write_bytes(data[:2] + app0 + data[20:])
        copy = served(original, tmp_path)
        assert copy.read_bytes() == data
        assert pixels(copy) == pixels(original)

    def test_a_jpeg_truncated_inside_its_scan_is_an_invalid_image(self, tmp_path):
        data = save(picture((200, 200)), tmp_path / "photo.jpg").read_bytes()
        cut = tmp_path / "cut.jpg"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(InvalidImage):
            media.strip_metadata(cut, tmp_path / "out.jpg", max_pixels=MAX_PIXELS)
        with pytest.raises(InvalidImage):
            media.make_thumbnail(cut, tmp_path / "thumb.webp", max_pixels=MAX_PIXELS)


class TestPng:
    def test_text_chunks_and_exif_are_dropped_and_the_pixels_kept(self, tmp_path):
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "Jane Doe")
        info.add_text("Comment", "a private comment", zip=True)
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        image = picture(mode="RGBA")
        original = save(image, tmp_path / "shot.png", pnginfo=info, exif=exif_with_gps(), icc_profile=SRGB)
        assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf"} <= set(png_chunk_types(original))
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        assert png_chunk_types(copy) == [b"IHDR", b"iCCP", b"IDAT", b"IEND"]
        assert pixels(copy) == pixels(original)

    def test_a_sideways_png_gets_an_exif_of_its_orientation_alone(self, tmp_path):
        original = save(picture(), tmp_path / "shot.png", exif=exif_with_gps(orientation=6))
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        assert png_chunk_types(copy) == [b"IHDR", b"eXIf", b"IDAT", b"IEND"]
        with Image.open(copy) as image:
            assert dict(image.getexif()) == {ExifTags.Base.Orientation: 6}

    def test_an_animated_png_keeps_its_frames_and_a_palette_its_transparency(self, tmp_path):
        frames = [picture(mode="P"), picture().rotate(180).convert("P")]
        original = save(
            frames[0], tmp_path / "a.png", save_all=True, append_images=frames[1:], transparency=0
        )
        copy = tmp_path / "copy.png"
        media.strip_metadata(original, copy, max_pixels=MAX_PIXELS)
        with Image.open(copy) as image:
            assert image.n_frames == 2 and "transparency" in image.info
        assert [pixels(copy, n) for n in (0, 1)] == [pixels(original, n) for n in (0, 1)]


class TestWebp:
    @pytest.mark.parametrize("options", [{"lossless": True}, {"quality": 70}], ids=["lossless", "lossy"])
    def test_exif_and_xmp_are_dropped_and_the_pixels_kept(self, tmp_path, options):
        original = save(
            picture(), tmp_path / "a.webp", exif=exif_with_gps(), xmp=XMP, icc_profile=SRGB, **options
        )
        assert {b"EXIF", b"XMP "} <= set(webp_chunks(original))
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        chunks = webp_chunks(copy)
        assert b"EXIF" not in chunks and b"XMP " not in chunks and b"ICCP" in chunks
        assert chunks[b"VP8X"][0] & 0x0C == 0  # the flags no longer announce EXIF or XMP
        data = copy.read_bytes()
        assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
        assert pixels(copy) == pixels(original)

    def test_a_sideways_webp_keeps_its_orientation_alone(self, tmp_path):
        original = save(picture(), tmp_path / "a.webp", exif=exif_with_gps(orientation=8), lossless=True)
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        with Image.open(copy) as image:
            assert dict(image.getexif()) == {ExifTags.Base.Orientation: 8}
        assert webp_chunks(copy)[b"VP8X"][0] & 0x08

    def test_an_animated_webp_keeps_its_frames(self, tmp_path):
        frames = [picture(), picture().rotate(180)]
        original = save(
            frames[0],
            tmp_path / "a.webp",
            save_all=True,
            append_images=frames[1:],
            lossless=True,
            exif=exif_with_gps(),
        )
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        with Image.open(copy) as image:
            assert image.n_frames == 2
        assert [pixels(copy, n) for n in (0, 1)] == [pixels(original, n) for n in (0, 1)]


def gif_with_extensions(tmp_path: Path) -> Path:
    """An animated GIF with a comment and an XMP application extension, as editors write them."""
    frames = [picture().convert("P"), picture().rotate(180).convert("P"), picture().rotate(90).convert("P")]
    path = save(
        frames[0],
        tmp_path / "a.gif",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
    )
    data = path.read_bytes()
    comment = b"!\xfe" + bytes([17]) + b"a private comment" + b"\x00"
    xmp = (
        b"!\xff\x0bXMP DataXMP"
        + b"".join(bytes([len(XMP[i : i + 255])]) + XMP[i : i + 255] for i in range(0, len(XMP), 255))
        + b"\x00"
    )
    at = data.index(b"!\xff\x0bNETSCAPE2.0")
    path.write_bytes(data[:at] + comment + xmp + data[at:])
    return path


class TestGif:
    def test_an_animated_gif_keeps_its_frames_timing_and_loop_but_no_comment_or_xmp(self, tmp_path):
        original = gif_with_extensions(tmp_path)
        copy = served(original, tmp_path)
        assert_no_secrets(copy)
        with Image.open(original) as before, Image.open(copy) as after:
            assert after.n_frames == before.n_frames == 3
            assert after.info["loop"] == 0
            durations = []
            for n in range(3):
                after.seek(n)
                durations.append(after.info["duration"])
            assert durations == [100, 200, 300]
        assert [pixels(copy, n) for n in range(3)] == [pixels(original, n) for n in range(3)]
        assert b"NETSCAPE2.0" in copy.read_bytes()

    def test_a_gif_cut_short_is_an_invalid_image(self, tmp_path):
        data = gif_with_extensions(tmp_path).read_bytes()
        cut = tmp_path / "cut.gif"
        cut.write_bytes(data[: len(data) - 40])
        with pytest.raises(InvalidImage):
            media.strip_metadata(cut, tmp_path / "out.gif", max_pixels=MAX_PIXELS)


def upright_portrait() -> Image.Image:
    """800 x 1600, red on top and blue below: easy to tell upright from turned."""
    image = Image.new("RGB", (800, 1600), "blue")
    image.paste("red", (0, 0, 800, 800))
    return image


class TestThumbnails:
    @pytest.mark.parametrize(
        "size, expected",
        [
            ((1600, 800), (320, 160)),
            ((800, 1600), (160, 320)),
            ((100, 50), (100, 50)),
            ((320, 320), (320, 320)),
        ],
    )
    def test_a_thumbnail_fits_the_box_keeps_the_shape_and_is_never_enlarged(self, tmp_path, size, expected):
        source = save(picture(size), tmp_path / "a.jpg")
        thumb = media.make_thumbnail(source, tmp_path / "t.webp", max_pixels=MAX_PIXELS)
        assert thumb == media.Thumbnail("image/webp", *expected)
        with Image.open(tmp_path / "t.webp") as image:
            assert (image.format, image.size) == ("WEBP", expected)

    @pytest.mark.parametrize("suffix", ["jpg", "png", "webp"])
    def test_a_photo_stored_sideways_gets_an_upright_thumbnail_and_upright_size(self, tmp_path, suffix):
        exif = exif_with_gps(orientation=6)  # stored turned a quarter left; shown turned back right
        source = save(
            upright_portrait().transpose(Image.Transpose.ROTATE_90), tmp_path / f"a.{suffix}", exif=exif
        )
        assert media.inspect(source, max_pixels=MAX_PIXELS) == media.Inspected(
            f"image/{'jpeg' if suffix == 'jpg' else suffix}", True, 800, 1600
        )
        assert media.make_thumbnail(source, tmp_path / "t.webp", max_pixels=MAX_PIXELS).width == 160
        with Image.open(tmp_path / "t.webp") as thumb:
            rgb = thumb.convert("RGB")
            assert rgb.size == (160, 320)
            top, bottom = rgb.getpixel((80, 40)), rgb.getpixel((80, 280))
            assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]

    @pytest.mark.parametrize("suffix", ["jpg", "png", "webp"])
    def test_a_thumbnail_carries_no_metadata(self, tmp_path, suffix):
        source = save(
            picture((640, 480)), tmp_path / f"a.{suffix}", exif=exif_with_gps(orientation=6), xmp=XMP
        )
        media.make_thumbnail(source, tmp_path / "t.webp", max_pixels=MAX_PIXELS)
        assert_no_secrets(tmp_path / "t.webp")
        assert set(webp_chunks(tmp_path / "t.webp")) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}

    def test_a_gif_thumbnail_is_its_first_frame(self, tmp_path):
        frames = [Image.new("RGB", (400, 400), "red"), Image.new("RGB", (400, 400), "blue")]
        source = save(frames[0], tmp_path / "a.gif", save_all=True, append_images=frames[1:])
        assert media.make_thumbnail(source, tmp_path / "t.webp", max_pixels=MAX_PIXELS) == media.Thumbnail(
            "image/webp", 320, 320
        )
        with Image.open(tmp_path / "t.webp") as thumb:
            assert thumb.convert("RGB").getpixel((160, 160))[0] > 200

    @pytest.mark.parametrize(
        "mode, suffix",
        [("RGBA", "png"), ("LA", "png"), ("P", "gif"), ("CMYK", "jpg"), ("I;16", "png"), ("1", "png")],
    )
    def test_every_mode_makes_a_thumbnail_and_transparency_stays(self, tmp_path, mode, suffix):
        image = picture((400, 300), "RGBA")
        if mode in ("RGBA", "LA"):
            image.putalpha(0)
        source = save(image.convert(mode), tmp_path / f"a.{suffix}")
        media.make_thumbnail(source, tmp_path / "t.webp", max_pixels=MAX_PIXELS)
        with Image.open(tmp_path / "t.webp") as thumb:
            assert thumb.size == (320, 240)
            assert (thumb.mode == "RGBA") == (mode in ("RGBA", "LA"))

    def test_a_thumbnail_written_to_an_open_file(self, tmp_path):
        out = io.BytesIO()
        media.make_thumbnail(save(picture(), tmp_path / "a.png"), out, max_pixels=MAX_PIXELS)
        assert Image.open(io.BytesIO(out.getvalue())).size == (96, 64)


def png_claiming(width: int, height: int, whole: bool = False) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` x ``height`` (``whole``: a real
    bomb, every black row there, compressed a thousandfold, that decodes if let through)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    if whole:
        packer, row = zlib.compressobj(9), bytes(1 + 3 * width)
        idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def gif_claiming(width: int, height: int) -> bytes:
    frame = b",\x00\x00\x00\x00" + struct.pack("<HH", width, height) + b"\x00\x02\x02\x44\x01\x00"
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\x00" * 6 + frame + b";"


def jpeg_claiming(tmp_path: Path, width: int, height: int) -> bytes:
    data = bytearray(save(picture((16, 16)), tmp_path / "small.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


class TestBombs:
    @pytest.mark.parametrize(
        "kind, size",
        [
            ("png", (100_000, 100_000)),  # ten gigapixels: past Pillow's own bound too
            ("png", (8_000, 8_000)),  # 64 megapixels: ours alone
            ("gif", (65_535, 65_535)),
            ("gif", (10_000, 6_000)),
            ("jpeg", (65_000, 65_000)),
            ("jpeg", (10_000, 5_001)),
        ],
    )
    def test_a_header_claiming_too_many_pixels_is_refused_before_decoding(self, tmp_path, kind, size):
        body = {"png": png_claiming, "gif": gif_claiming}.get(kind)
        path = tmp_path / "bomb"
        path.write_bytes(body(*size) if body else jpeg_claiming(tmp_path, *size))
        tracemalloc.start()
        started = time.monotonic()
        try:
            for call in (
                lambda: media.inspect(path, max_pixels=MAX_PIXELS),
                lambda: media.make_thumbnail(path, tmp_path / "t.webp", max_pixels=MAX_PIXELS),
                lambda: media.strip_metadata(path, tmp_path / "s", max_pixels=MAX_PIXELS),
            ):
                with pytest.raises(ImageTooLarge) as refused:
                    call()
                assert (refused.value.code, refused.value.status) == ("image_too_large", 422)
                assert refused.value.details["max_pixels"] == MAX_PIXELS
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.monotonic() - started < 2
        assert peak < 50 * 1024 * 1024
        assert not (tmp_path / "t.webp").exists() and not (tmp_path / "s").exists()

    @pytest.mark.parametrize("kind", ["png", "jpeg"])
    def test_refusing_a_bomb_allocates_nothing_like_its_pixels(self, tmp_path, kind):
        """tracemalloc sees Python's allocations only; Pillow's pixels are C memory, so a fresh
        process reports its peak RSS (VmHWM: ru_maxrss would carry pytest's own over exec).
        About 70 MB with the imports; decoding 8000 x 8000 RGB would add some 200 MB."""
        path = tmp_path / "bomb"
        path.write_bytes(
            png_claiming(8_000, 8_000, whole=True) if kind == "png" else jpeg_claiming(tmp_path, 8_000, 8_000)
        )
        script = (
            "import sys\n"
            "from messenger import media\n"
            "from messenger.errors import ImageTooLarge\n"
            "for call in (media.inspect, media.make_thumbnail, media.strip_metadata):\n"
            "    try:\n"
            "        call(*sys.argv[1:2 if call is media.inspect else 3], max_pixels=50_000_000)\n"
            "    except ImageTooLarge:\n"
            "        pass\n"
            "    else:\n"
            "        sys.exit('not refused')\n"
            "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", script, str(path), str(tmp_path / "out")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert int(run.stdout) < 120 * 1024  # KiB: the interpreter, Flask's imports and Pillow

    def test_ours_names_the_size_it_read(self, tmp_path):
        path = tmp_path / "bomb.png"
        path.write_bytes(png_claiming(8_000, 8_000))
        with pytest.raises(ImageTooLarge) as refused:
            media.inspect(path, max_pixels=MAX_PIXELS)
        assert refused.value.details == {"width": 8_000, "height": 8_000, "max_pixels": MAX_PIXELS}

    def test_the_bound_is_the_setting(self, tmp_path):
        path = save(picture((100, 100)), tmp_path / "a.png")
        assert media.inspect(path, max_pixels=10_000).is_image
        with pytest.raises(ImageTooLarge):
            media.inspect(path, max_pixels=9_999)

    def test_the_settings_ceiling_is_pillows_own_bound(self):
        assert MAX_IMAGE_PIXELS_CEILING == 2 * Image.MAX_IMAGE_PIXELS
        assert Settings.from_env({"MAX_IMAGE_PIXELS": "1000"}).max_image_pixels == 1000


CORRUPT = {
    "png-garbage": b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
    "png-bad-crc": None,  # made in the test
    "gif-garbage": b"GIF89a" + b"\xff" * 40,
    "jpeg-garbage": b"\xff\xd8\xff" + b"\x00" * 100,
    "webp-garbage": b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 30,
}


class TestCorruptImages:
    @pytest.mark.parametrize("name", sorted(CORRUPT))
    def test_an_image_signature_on_unreadable_bytes_is_an_invalid_image(self, tmp_path, name):
        body = CORRUPT[name]
        if body is None:
            good = bytearray(save(picture(), tmp_path / "a.png").read_bytes())
            good[30] ^= 0xFF  # inside IHDR: its CRC no longer matches
            body = bytes(good)
        path = tmp_path / "upload"
        path.write_bytes(body)
        for call in (media.inspect, media.strip_metadata, media.make_thumbnail):
            arguments = (path,) if call is media.inspect else (path, tmp_path / "out")
            with pytest.raises(InvalidImage) as refused:
                call(*arguments, max_pixels=MAX_PIXELS)
            assert (refused.value.code, refused.value.status) == ("invalid_image", 422)

    @pytest.mark.parametrize("suffix", ["jpg", "png", "webp", "gif"])
    def test_an_image_cut_in_half_is_refused_by_the_copy_and_the_thumbnail(self, tmp_path, suffix):
        data = save(picture((300, 200)), tmp_path / f"a.{suffix}").read_bytes()
        path = tmp_path / f"cut.{suffix}"
        path.write_bytes(data[: len(data) // 2])
        for call in (media.strip_metadata, media.make_thumbnail):
            with pytest.raises(InvalidImage):
                call(path, tmp_path / "out", max_pixels=MAX_PIXELS)

    @pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # Pillow on bad EXIF
    @pytest.mark.parametrize("suffix", ["jpg", "png", "webp", "gif"])
    def test_mangled_images_are_processed_or_refused_never_a_crash(self, tmp_path, suffix):
        """Flip bytes at random (fixed seeds): every outcome is a result or a 422, no other error."""
        exif = {"exif": exif_with_gps(6)} if suffix != "gif" else {}
        data = save(picture((64, 48)), tmp_path / f"a.{suffix}", **exif).read_bytes()
        rng = random.Random(suffix)
        path = tmp_path / f"m.{suffix}"
        for _ in range(150):
            mangled = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(mangled))
                mangled[at] = rng.randrange(256)
            path.write_bytes(bytes(mangled[: rng.choice([len(mangled), rng.randrange(1, len(mangled))])]))
            for call in (
                lambda: media.inspect(path, max_pixels=MAX_PIXELS),
                lambda: media.strip_metadata(path, tmp_path / "out", max_pixels=MAX_PIXELS),
                lambda: media.make_thumbnail(path, tmp_path / "t.webp", max_pixels=MAX_PIXELS),
            ):
                try:
                    call()
                except (InvalidImage, ImageTooLarge):
                    pass
                except ValueError as error:  # a mangled signature: no longer an image to process
                    assert "not an image" in str(error)


class TestAnimations:
    @staticmethod
    def animation(path: Path, frames: int, kind: str = "GIF") -> Path:
        images = [Image.new("RGB", (100, 100), (i * 40 % 256, 0, 0)) for i in range(frames)]
        images[0].save(path, kind, save_all=True, append_images=images[1:], duration=50, loop=0)
        return path

    @pytest.mark.parametrize("kind, suffix", [("GIF", "gif"), ("WEBP", "webp"), ("PNG", "png")])
    def test_an_animation_may_hold_four_images_worth_of_pixels_in_all(self, tmp_path, kind, suffix):
        limit = 10_000  # one 100 x 100 frame; four of them in all
        fits = media.inspect(self.animation(tmp_path / f"ok.{suffix}", 4, kind), max_pixels=limit)
        assert (fits.is_image, fits.width, fits.height) == (True, 100, 100)
        with pytest.raises(ImageTooLarge) as refused:
            media.inspect(self.animation(tmp_path / f"film.{suffix}", 5, kind), max_pixels=limit)
        assert refused.value.details["frames"] == 5


def test_a_sideways_png_is_measured_upright_from_its_header_without_decoding(tmp_path, monkeypatch):
    path = save(picture((96, 64)), tmp_path / "shot.png", exif=exif_with_gps(orientation=6))
    decoded = []
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", lambda self: decoded.append(1))
    found = media.inspect(path, max_pixels=MAX_PIXELS)
    assert (found.width, found.height, decoded) == (64, 96, [])
