"""Image files: recognise a disk format by its content, and stream files into storage.

Only the bytes decide the format (never the file name): qcow2 starts with `QFI\\xfb`, a VHD
carries a `conectix` footer in its last 512 bytes (dynamic disks also a copy at the start), an
ISO has `CD001` in a volume descriptor, and raw is accepted only when declared and made of
whole 512-byte sectors. ZVHD and ZVHD2 are VHD containers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.policy.messages import Message, gettext_noop

from .models import Image

SECTOR = 512
QCOW2_MAGIC = b"QFI\xfb"
VHD_COOKIE = b"conectix"
ISO_MAGIC = b"CD001"
ISO_DESCRIPTOR_OFFSETS = (0x8001, 0x8801, 0x9001)
# The format family a declared disk format's content must belong to.
CONTAINER_OF = {
    Image.DiskFormat.QCOW2: "qcow2",
    Image.DiskFormat.VHD: "vhd",
    Image.DiskFormat.ZVHD: "vhd",
    Image.DiskFormat.ZVHD2: "vhd",
    Image.DiskFormat.ISO: "iso",
    Image.DiskFormat.RAW: "raw",
}
CONTAINER_LABELS = {"qcow2": "QCOW2", "vhd": "VHD", "iso": "ISO", "raw": "RAW"}


class StorageUnavailable(OSError):
    """The image folder could not take a file (full, read-only, gone): answered like a busy database,
    503 with Retry-After (imsperm.busy) — nothing was changed, and the same request may succeed later."""


class FileRejected(ValueError):
    """The file's content does not make a usable image; the message says why: in English as str() (the audit
    log's), in the person's language as accounts.findings.localized(error.message)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Detected:
    container: str  # qcow2 | vhd | iso | raw

    @property
    def label(self) -> str:
        return CONTAINER_LABELS[self.container]


def _read(file, offset: int, length: int) -> bytes:
    file.seek(offset)
    return file.read(length)


def _check_qcow2(head: bytes, size: int) -> None:
    if len(head) < 8:
        raise FileRejected(Message(gettext_noop("The QCOW2 file is truncated: its header is incomplete.")))
    version = struct.unpack(">I", head[4:8])[0]
    if version not in (2, 3):
        raise FileRejected(Message(gettext_noop("QCOW2 version %(version)s is not supported (only versions 2 and 3)."),
                                   version=version))
    header_length = 72
    if version == 3:
        if len(head) < 104:
            raise FileRejected(Message(gettext_noop("The QCOW2 file is truncated: its version 3 header needs 104 "
                                                    "bytes.")))
        header_length = struct.unpack(">I", head[100:104])[0]
    if size < header_length:
        raise FileRejected(Message(gettext_noop("The QCOW2 file is truncated: its header needs %(needed)s bytes, it "
                                                "has %(size)s."), needed=header_length, size=size))


def _check_iso(file, size: int) -> None:
    # The primary volume descriptor says how many logical blocks the volume holds.
    descriptor = _read(file, 0x8000, 2048)
    if len(descriptor) < 132:
        raise FileRejected(Message(gettext_noop("The ISO file is truncated: its volume descriptor is incomplete.")))
    blocks = struct.unpack("<I", descriptor[80:84])[0]
    block_size = struct.unpack("<H", descriptor[128:130])[0] or 2048
    expected = blocks * block_size
    if descriptor[0] == 1 and size < expected:
        raise FileRejected(Message(gettext_noop("The ISO file is truncated: the volume holds %(expected)s bytes, the "
                                                "file %(size)s."), expected=expected, size=size))


def _check_vhd(footer: bytes, size: int, *, footer_at_end: bool) -> None:
    if not footer_at_end:
        raise FileRejected(Message(gettext_noop("The VHD file is truncated: its footer is missing from the end of the "
                                                "file.")))
    disk_type = struct.unpack(">I", footer[60:64])[0]
    current_size = struct.unpack(">Q", footer[48:56])[0]
    if disk_type == 2 and size - SECTOR < current_size:
        raise FileRejected(Message(gettext_noop("The VHD file is truncated: the fixed disk holds %(expected)s bytes, "
                                                "the file %(size)s."), expected=current_size, size=size - SECTOR))


def detect_format(file, size: int, declared: str) -> Detected:
    """The container format of `file` (a seekable binary file of `size` bytes), checked for truncation.

    Raises FileRejected with a sentence a user understands when the content is not a whole image.
    """
    if size == 0:
        raise FileRejected(Message(gettext_noop("The file is empty.")))
    head = _read(file, 0, 512)
    if head.startswith(QCOW2_MAGIC):
        _check_qcow2(head, size)
        return Detected("qcow2")
    tail = _read(file, size - SECTOR, SECTOR) if size >= SECTOR else b""
    if tail.startswith(VHD_COOKIE) or head.startswith(VHD_COOKIE):
        _check_vhd(tail if tail.startswith(VHD_COOKIE) else head, size, footer_at_end=tail.startswith(VHD_COOKIE))
        return Detected("vhd")
    for offset in ISO_DESCRIPTOR_OFFSETS:
        if _read(file, offset, len(ISO_MAGIC)) == ISO_MAGIC:
            _check_iso(file, size)
            return Detected("iso")
    if size >= 0x8000 and CONTAINER_OF.get(declared) == "iso":
        raise FileRejected(Message(gettext_noop("The file is not an ISO image: no CD001 volume descriptor was found.")))
    if CONTAINER_OF.get(declared) == "raw":
        if size % SECTOR:
            raise FileRejected(Message(gettext_noop("A RAW disk is made of whole 512-byte sectors; this file has "
                                                    "%(size)s bytes (%(extra)s too many or missing)."),
                                       size=size, extra=size % SECTOR))
        return Detected("raw")
    raise FileRejected(Message(gettext_noop("The file is not a disk image this console recognises (QCOW2, "
                                            "VHD/ZVHD/ZVHD2, ISO, or RAW in 512-byte sectors).")))


def check_matches(detected: Detected, declared: str) -> None:
    """Refuse a file whose content is another format than the image declares."""
    if CONTAINER_OF[declared] != detected.container:
        declared_label = Image.DiskFormat(declared).label
        raise FileRejected(Message(gettext_noop("The file is a %(detected)s image, but this image's disk format is "
                                                "%(declared)s."), detected=detected.label, declared=declared_label))


PARTIAL_SUFFIX = ".part"


@dataclass(frozen=True)
class Staged:
    """An upload written under a temporary name beside its place (`partial`), to become `name`."""

    partial: str
    name: str


def _folder() -> Path:
    try:
        folder = Path(default_storage.path("images"))
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageUnavailable(f"The image folder cannot take files: {error}") from error
    return folder


def stage_image_file(image: Image, uploaded, container: str) -> Staged:
    """Stream the upload chunk by chunk to a temporary name in the image folder, flushed to disk.

    Nothing is ever written under the image's own name: a reader, a backup or a crash never finds a
    half-written file there. A folder that cannot take the file (full, read-only, gone) raises
    StorageUnavailable, answered 503 with Retry-After; the partial file is removed.
    """
    folder = _folder()
    partial = folder / f"{image.pk}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}"
    uploaded.seek(0)
    try:
        with open(partial, "xb") as handle:
            for chunk in uploaded.chunks():
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise StorageUnavailable(f"The image file could not be written: {error}") from error
    return Staged(partial=f"images/{partial.name}", name=f"images/{image.pk}.{container}")


def move_into_place(staged: Staged) -> str:
    """Rename the staged file to its name (atomic, replacing a leftover of an attempt whose commit
    was lost); the last step of the upload's transaction, so a row never commits "active" without
    its file. The stored name."""
    try:
        os.replace(default_storage.path(staged.partial), default_storage.path(staged.name))
    except OSError as error:
        raise StorageUnavailable(f"The image file could not be put in place: {error}") from error
    return staged.name


def tidy(grace_seconds: float) -> list[str]:
    """Remove what interrupted uploads left in the image folder, older than `grace_seconds`: partial
    files, and files no image row names (a worker killed after the move, or a commit whose answer
    was lost and which did not happen). The removed names."""
    try:
        folder = Path(default_storage.path("images"))
        entries = list(folder.iterdir())
    except OSError:
        return []
    named = set(Image.objects.exclude(file="").values_list("file", flat=True))
    cutoff, removed = time.time() - grace_seconds, []
    for entry in entries:
        name = f"images/{entry.name}"
        if entry.name.startswith(".") or name in named or not entry.is_file():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime <= cutoff:
                entry.unlink()
                removed.append(name)
    return removed


def store_export(image: Image, name: str, manifest: str) -> str:
    """Copy the image's file (or, without a file, a manifest) to exports/; the stored name."""
    if image.file:
        with image.file.open("rb") as source:
            return default_storage.save(f"exports/{name}", source)
    return default_storage.save(f"exports/{name}.json", ContentFile(manifest.encode()))


def stored_checksum(name: str) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex digest) of a stored file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with default_storage.open(name, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def copy_image_file(source: Image, target: Image) -> str:
    """Copy the source image's file for a replica; the stored name."""
    suffix = source.file.name.rsplit(".", 1)[-1]
    with source.file.open("rb") as handle:
        return default_storage.save(f"images/{target.pk}.{suffix}", handle)


def discard(name: str) -> None:
    """Remove a stored file if it is there (after a failed write or a deleted image)."""
    if name and default_storage.exists(name):
        default_storage.delete(name)
