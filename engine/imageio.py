"""Reading and writing frames: PNG, TGA and TIFF, 8 or 16 bit, any mode.

Images come back as numpy arrays in RGB(A) channel order: ``H x W`` for grey,
``H x W x 3`` for RGB, ``H x W x 4`` for RGBA, dtype uint8 or uint16. OpenCV
decodes most files (16-bit RGB included); Pillow takes what OpenCV cannot
(TGA, some palette files). Writes are atomic: a crash never leaves a
half-written frame under its final name.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# A frame larger than this is refused before decoding: 16K x 16K RGBA at
# 16 bit is already 2 GiB, and nothing animated is drawn bigger. OpenCV
# reads its own limit when imported: set before (engine/__init__.py imports
# this module first).
MAX_PIXELS = 16384 * 16384
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from engine.errors import ImageError  # noqa: E402

IMAGE_SUFFIXES = (".png", ".tga", ".tif", ".tiff")

# Grey or palette with alpha: OpenCV drops the alpha, where such line art
# keeps its ink (lines on a transparent background), so Pillow reads them.
_PILLOW_MODES = ("LA", "La", "PA")

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Decoding failures become our own one-line errors; OpenCV's log would add a
# second, technical line on stderr.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file into an RGB(A) or grey array (uint8 or uint16)."""
    path = Path(path)
    check_plain_file(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if path.is_symlink():
            raise ImageError(
                f"{path}: broken link (to {os.readlink(path)}, which does not exist)"
            ) from None
        raise ImageError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise ImageError(f"{path}: empty file (0 bytes)")
    mode = _check_header(path, data)
    if data.startswith(_PNG_SIGNATURE):
        data = _without_colour_chunks(data)
    image = None if mode in _PILLOW_MODES else _decode_with_opencv(path, data)
    if image is None:
        image = _decode_with_pillow(path, data)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype not in (np.uint8, np.uint16):
        image = _to_uint16(image, path)
    return np.ascontiguousarray(image)


def pipe_or_device(path: Path) -> bool:
    """Whether ``path`` is neither a file nor a folder (a named pipe called
    like a frame or a project, a device): reading one waits for a writer,
    forever. What cannot be looked at is left to reading it, which says
    why."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_plain_file(path: Path) -> None:
    """Refuse a `pipe_or_device` as an image."""
    if pipe_or_device(path):
        raise ImageError(f"{path}: not a file but a pipe or a device; not an image")


@contextlib.contextmanager
def open_quietly(source: str | Path | BinaryIO) -> Iterator[Image.Image]:
    """A Pillow image, opened and used with Pillow's warnings silenced:
    damage and size become our one-line errors, not warnings on stderr."""
    if isinstance(source, str | Path):
        check_plain_file(Path(source))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(source) as im:
            yield im


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_header(path: Path, data: bytes) -> str | None:
    """The pixel mode from the header (None when Pillow cannot read it).
    Refuses, before any decoding allocates them, frames over MAX_PIXELS, and
    damaged PNGs: their chunks (lengths, checksums, the end) are checked, so
    libpng never prints its own error to the terminal."""
    try:
        with open_quietly(io.BytesIO(data)) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{path}: frame too large ({width}x{height})")
            mode = im.mode
            if im.format == "PNG":
                im.verify()
            return mode
    except ImageError:
        raise
    except Image.DecompressionBombError:  # Pillow's own refusal, past 2x
        raise ImageError(f"{path}: frame too large") from None
    except Exception as exc:
        if data.startswith(_PNG_SIGNATURE):
            raise _damaged(path, exc) from None
        return None  # not Pillow's to read: OpenCV's


# Colour-management chunks: line art is read as plain values, and libpng
# prints warnings about common mistakes in them (an RGB profile on a grey
# PNG, Photoshop's "known incorrect sRGB profile") on the terminal.
_COLOUR_CHUNKS = frozenset({b"iCCP", b"sRGB", b"cHRM", b"gAMA"})


def _without_colour_chunks(data: bytes) -> bytes:
    """A PNG's bytes without its colour-management chunks (checked by
    `_check_header` already, so the chunk walk can trust the lengths)."""
    pieces: list[memoryview] = []
    view = memoryview(data)
    start, position = 0, len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if kind in _COLOUR_CHUNKS:
            pieces.append(view[start:position])
            start = end
        if kind == b"IEND":
            break
        position = end
    if not pieces:
        return data
    pieces.append(view[start:])
    return b"".join(pieces)


def _damaged(path: Path, exc: Exception) -> ImageError:
    truncated = "truncated" in str(exc).lower()
    return ImageError(
        f"{path}: {'truncated image' if truncated else 'not an image or corrupt'}"
    )


def _decode_with_opencv(path: Path, data: bytes) -> np.ndarray | None:
    buffer = np.frombuffer(data, np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):  # a header Pillow cannot read
            raise ImageError(f"{path}: frame too large") from None
        return None
    if image is None:
        return None
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def _decode_with_pillow(path: Path, data: bytes) -> np.ndarray:
    try:
        # (Its size was checked with the header.)
        with open_quietly(io.BytesIO(data)) as im:
            im.load()
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif im.mode in ("LA", "La", "PA", "CMYK", "YCbCr", "1", "L;16"):
                im = im.convert("RGBA" if im.mode in ("LA", "La", "PA") else "RGB")
            array = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _damaged(path, exc) from None
    return array


def _to_uint16(image: np.ndarray, path: Path) -> np.ndarray:
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(image, 0.0, 1.0) * 65535 + 0.5).astype(np.uint16)
    if np.issubdtype(image.dtype, np.integer):
        return np.clip(image, 0, 65535).astype(np.uint16)
    raise ImageError(f"{path}: unsupported pixel type {image.dtype}")


def image_size(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of an image array."""
    return int(image.shape[1]), int(image.shape[0])


def to_rgba_float(image: np.ndarray) -> np.ndarray:
    """Any decoded image as float32 ``H x W x 4`` straight RGBA in [0, 1]."""
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    data = image.astype(np.float32) / scale
    if data.ndim == 2:
        data = np.repeat(data[:, :, None], 3, axis=2)
    if data.shape[2] == 3:
        alpha = np.ones(data.shape[:2] + (1,), np.float32)
        data = np.concatenate([data, alpha], axis=2)
    return data


def to_rgba8(image: np.ndarray) -> np.ndarray:
    """Any decoded image as uint8 ``H x W x 4`` RGBA."""
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 3:
        alpha = np.full(image.shape[:2] + (1,), 255, np.uint8)
        image = np.concatenate([image, alpha], axis=2)
    return np.ascontiguousarray(image)


def encode_png(image: np.ndarray, compression: int = 1) -> bytes:
    """PNG bytes for a grey, RGB or RGBA array (uint8 or uint16).

    Compression 1 (fast) suits outputs written every frame; 9 suits files
    that ship."""
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, buffer = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    if not ok:
        raise ImageError("could not encode PNG")
    return buffer.tobytes()


def write_png(path: str | Path, image: np.ndarray, *, compression: int = 1) -> None:
    """Write a PNG atomically (temporary file in the same folder, then rename)."""
    atomic_write_bytes(path, encode_png(image, compression))


# The permissions a plain open() would give a new file (mkstemp's are 0600,
# which other users of a render farm or a compositing tool could not read).
# Read once, at import, before any thread: os.umask can only be read by
# setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)
NEW_FILE_MODE = 0o666 & ~_UMASK


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name one file or folder: through links, other
    spellings and, on macOS and Windows, letter case (by the paths alone
    when either does not exist)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return resolved(Path(a)) == resolved(Path(b))


def resolved(path: Path) -> Path:
    """``path.resolve()``; a path through a link that loops as it is given
    (opening it then says what is wrong, where resolving raised RuntimeError
    before Python 3.13)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


# A temporary file of atomic_write_bytes older than this was left by a
# writer that was killed (no write takes an hour).
STALE_TEMPORARY_SECONDS = 3600.0


def temporary_prefix(name: str) -> str:
    """How the temporary files atomic_write_bytes makes for ``name`` begin.
    The temporary name carries the start of the file's name only: the whole
    may already be as long as a name can be."""
    return f".{name[:48]}."


def remove_stale_temporaries(folder: Path, prefix: str = ".") -> None:
    """Delete the temporary files of atomic_write_bytes in ``folder`` whose
    names start with ``prefix`` and that a killed writer left (older than
    STALE_TEMPORARY_SECONDS); a write under way is never touched. Errors
    are ignored: a file left behind costs only disk space."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            with contextlib.suppress(OSError):
                if now - entry.lstat().st_mtime > STALE_TEMPORARY_SECONDS:
                    entry.unlink()


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes so that readers see the old file or the new one, never half.
    The file gets the permissions the umask gives any new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _named_as(path):
        fd, tmp = tempfile.mkstemp(
            prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent
        )
        try:
            if hasattr(os, "fchmod"):  # POSIX
                os.fchmod(fd, NEW_FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _named_as(path: Path) -> Iterator[None]:
    """An OSError about the hidden temporary file of a write of ``path``
    (a read-only or full disk) as one about ``path``, the name the user
    knows."""
    try:
        yield
    except OSError as exc:
        hidden = exc.filename and Path(exc.filename).name.endswith(".tmp")
        if not hidden or Path(exc.filename).parent != path.parent:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
