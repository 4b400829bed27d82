"""``read_regular``: the whole of a regular file, read without blocking, bounded."""

from __future__ import annotations

import os

import pytest

from cw.shell import paths
from cw.shell.paths import NotRegularFileError, read_regular


@pytest.mark.parametrize("size", [0, 1, 4095, 1 << 20, (3 << 20) + 7])
def test_the_whole_file_is_read(tmp_path, size):
    p = tmp_path / "f"
    data = os.urandom(size)
    p.write_bytes(data)
    assert read_regular(p) == data


def test_a_file_over_the_limit_is_refused(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert read_regular(p, limit=10) == b"x" * 10
    with pytest.raises(NotRegularFileError, match="holds 10 bytes"):
        read_regular(p, limit=9)


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    real = os.fstat

    def smaller(fd):  # the size as it was when the file was opened, before it grew
        st = real(fd)
        return os.stat_result((st.st_mode, *st[1:6], 5, *st[7:]))

    monkeypatch.setattr(paths.os, "fstat", smaller)
    assert read_regular(p, limit=10) == b"x" * 10  # grew, but within the limit: all of it
    with pytest.raises(NotRegularFileError, match="grew past 8 bytes"):
        read_regular(p, limit=8)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError, match="FIFO|fifo|pipe"):
        read_regular(fifo)
