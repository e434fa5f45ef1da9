"""Fixtures of the image browser tests: a private media folder, demo image ids, small disk image files."""

import struct

import pytest

from accounts.management.commands.seed_demo import demo_id


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploads and exports land in a temporary folder, never in the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def image_id():
    """The id of a demo image by name: image_id("cn-north-4-ubuntu-system-00")."""
    return demo_id


def qcow2_bytes(size: int = 1024) -> bytes:
    """A small valid QCOW2 (version 3) file: magic, version, a 104-byte header, padding."""
    header = b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 92 + struct.pack(">I", 104)
    return header + b"\0" * (size - len(header))


def vhd_fixed_bytes(data_size: int = 1024) -> bytes:
    """A fixed VHD: the data followed by its 512-byte 'conectix' footer."""
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    footer[48:56] = struct.pack(">Q", data_size)
    footer[60:64] = struct.pack(">I", 2)
    return b"\0" * data_size + bytes(footer)


def iso_bytes(blocks: int = 20) -> bytes:
    """An ISO 9660 volume of `blocks` 2 KB blocks with its primary volume descriptor."""
    data = bytearray(blocks * 2048)
    descriptor = bytearray(2048)
    descriptor[0] = 1
    descriptor[1:6] = b"CD001"
    descriptor[80:84] = struct.pack("<I", blocks)
    descriptor[128:130] = struct.pack("<H", 2048)
    data[0x8000:0x8800] = descriptor
    return bytes(data)


@pytest.fixture
def disk_files():
    """Builders of valid small disk images, by container format."""
    return {"qcow2": qcow2_bytes, "vhd": vhd_fixed_bytes, "iso": iso_bytes, "raw": lambda size=1024: b"\0" * size}
