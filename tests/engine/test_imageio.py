from __future__ import annotations

import errno
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.errors import ImageError
from engine.imageio import read_image, write_png
from engine.regions import segment_image


def _drawing() -> np.ndarray:
    image = np.full((60, 80), 255, np.uint8)
    cv2.circle(image, (40, 30), 20, 0, 2)
    return image


@pytest.mark.parametrize(
    ("suffix", "mode"),
    [
        (".png", "L"),
        (".png", "RGB"),
        (".png", "RGBA"),
        (".png", "P"),
        (".tga", "RGB"),
        (".tga", "RGBA"),
        (".tif", "L"),
        (".tif", "RGB"),
    ],
)
def test_every_format_and_mode_segments_alike(
    tmp_path: Path, suffix: str, mode: str
) -> None:
    grey = _drawing()
    image = Image.fromarray(grey).convert(mode)
    path = tmp_path / f"frame{suffix}"
    image.save(path)
    decoded = read_image(path)
    assert decoded.shape[:2] == (60, 80)
    assert segment_image(decoded)[1].count == 2


def test_16_bit_rgb_png_and_tiff(tmp_path: Path) -> None:
    rgb16 = np.repeat(_drawing()[:, :, None], 3, axis=2).astype(np.uint16) * 257
    for suffix in (".png", ".tif"):
        path = tmp_path / f"deep{suffix}"
        cv2.imwrite(str(path), rgb16)
        decoded = read_image(path)
        assert decoded.dtype == np.uint16
        assert segment_image(decoded)[1].count == 2


def test_write_png_round_trips_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    labels = np.arange(60 * 80, dtype=np.uint16).reshape(60, 80)
    write_png(tmp_path / "labels.png", labels)
    assert np.array_equal(read_image(tmp_path / "labels.png"), labels)
    assert [p.name for p in tmp_path.iterdir()] == ["labels.png"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_written_files_are_readable_as_any_new_file_and_may_have_long_names(
    tmp_path: Path,
) -> None:
    """A render farm's other users read the outputs: the umask decides, as
    for any file, and a name as long as the file system allows works."""
    name = "x" * 240 + "_0005.png"
    write_png(tmp_path / name, _drawing())
    mode = (tmp_path / name).stat().st_mode & 0o777
    umask = os.umask(0o022)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_write_that_fails_names_the_file_not_its_hidden_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a read-only disk the error named ``.0005.png.lq023trr.tmp``."""

    def read_only(source: str, target: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", source)

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(OSError) as error:
        write_png(tmp_path / "0005.png", np.zeros((4, 4), np.uint8))
    assert error.value.filename == str(tmp_path / "0005.png")
    assert error.value.errno == errno.EROFS
    assert list(tmp_path.iterdir()) == []


def test_bad_files_raise_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    good = tmp_path / "good.png"
    write_png(good, _drawing())
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    for path, words in (
        (empty, "empty"),
        (text, "not an image"),
        (truncated, ""),
        (tmp_path / "missing.png", "not found"),
        (tmp_path, "folder"),
    ):
        with pytest.raises(ImageError) as info:
            read_image(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message
        assert words in message


def test_damaged_pngs_are_refused_without_noise_from_the_decoder(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8)
    good = tmp_path / "good.png"
    write_png(good, noise)
    data = good.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])  # a copy that stopped half way
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # one damaged byte inside the pixels
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(bytes(flipped))
    capfd.readouterr()
    for path, words in ((cut, "truncated image"), (damaged, "corrupt")):
        with pytest.raises(ImageError, match=words):
            read_image(path)
    # libpng prints its own errors straight to the terminal; none may get there.
    assert capfd.readouterr().err == ""
    assert read_image(good).shape == (120, 160, 3)


def test_a_colour_profile_that_does_not_fit_is_read_without_warnings(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "grey_with_rgb_profile.png"
    Image.fromarray(_drawing()).save(path, icc_profile=srgb, gamma=0.45455)
    capfd.readouterr()
    image = read_image(path)
    # libpng warns about an RGB profile on a grey PNG on every read.
    assert capfd.readouterr().err == ""
    assert np.array_equal(image, _drawing())


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_grey_line_art_on_a_transparent_background_keeps_its_ink(
    tmp_path: Path, suffix: str
) -> None:
    ink = 255 - _drawing()  # the lines live in the alpha channel only
    frame = Image.merge("LA", (Image.new("L", (80, 60), 0), Image.fromarray(ink)))
    path = tmp_path / f"la{suffix}"
    frame.save(path)
    image = read_image(path)
    assert image.shape == (60, 80, 4)
    assert np.array_equal(image[:, :, 3], ink)
    assert segment_image(image)[1].count == 2  # inside and outside the circle


@pytest.mark.parametrize("side", [17000, 24000, 40000])
def test_huge_frames_are_refused_before_decoding(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], side: int
) -> None:
    """Just over the limit, past Pillow's own refusal (twice the limit) and
    past OpenCV's: always our one line, and nothing else on stderr."""
    import struct
    import zlib

    # A valid PNG header claiming side x side pixels, with almost no data.
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    path = tmp_path / "huge.png"
    path.write_bytes(data)
    capfd.readouterr()
    with pytest.raises(ImageError, match="too large"):
        read_image(path)
    assert capfd.readouterr().err == ""
