"""Disk formats are recognised by their content, and incomplete files are called truncated."""

import io

import pytest

from images.uploads import FileRejected, check_matches, detect_format

from .conftest import iso_bytes, qcow2_bytes, vhd_fixed_bytes


def detect(content: bytes, declared: str):
    return detect_format(io.BytesIO(content), len(content), declared)


@pytest.mark.parametrize(("content", "declared", "container"), [
    (qcow2_bytes(), "qcow2", "qcow2"),
    (vhd_fixed_bytes(), "vhd", "vhd"),
    (vhd_fixed_bytes(), "zvhd2", "vhd"),
    (iso_bytes(), "iso", "iso"),
    (b"\0" * 2048, "raw", "raw"),
])
def test_valid_files_are_recognised(content, declared, container):
    detected = detect(content, declared)
    assert detected.container == container
    check_matches(detected, declared)


def test_a_dynamic_vhd_with_its_header_copy_but_no_footer_is_truncated():
    footer = vhd_fixed_bytes(0)
    with pytest.raises(FileRejected, match="footer is missing"):
        detect(footer + b"\0" * 4096, "vhd")


@pytest.mark.parametrize(("content", "declared", "message"), [
    (qcow2_bytes()[:50], "qcow2", "QCOW2 file is truncated"),
    (b"QFI\xfb" + (7).to_bytes(4, "big") + b"\0" * 200, "qcow2", "version 7 is not supported"),
    (vhd_fixed_bytes(4096)[1024:], "vhd", "fixed disk holds 4096 bytes"),
    (iso_bytes(40)[: 20 * 2048], "iso", "ISO file is truncated"),
    (b"\0" * 1000, "raw", "whole 512-byte sectors"),
    (b"\0" * 0x9000, "iso", "no CD001 volume descriptor"),
    (b"just text" * 100, "qcow2", "not a disk image this console recognises"),
    (b"", "raw", "empty"),
])
def test_bad_files_are_refused_with_the_reason(content, declared, message):
    with pytest.raises(FileRejected, match=message):
        detect(content, declared)


def test_a_raw_looking_file_is_not_accepted_for_another_declared_format():
    with pytest.raises(FileRejected, match="not a disk image"):
        detect(b"\0" * 2048, "qcow2")


def test_content_and_declared_format_must_agree():
    with pytest.raises(FileRejected, match=r"The file is a QCOW2 image, but this image's disk format is ISO\."):
        check_matches(detect(qcow2_bytes(), "iso"), "iso")
