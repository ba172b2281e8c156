"""The rule sheets' rows are deflated in a second thread while the next chunk is made (exporters.xlsx._write_behind,
issue 17): the same bytes as writing them one after the other, and an error on either side is raised."""

from __future__ import annotations

import io
import zipfile

import pytest

from exporters.xlsx import _write_behind


def _package(write) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2026, 12, 7, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as fh:
            write(fh)
    return buf.getvalue()


def _chunks():
    for i in range(300):
        text = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>Сделка {r}</t></is></c></row>'
                       for r in range(i * 50, i * 50 + 50))
        yield memoryview(text.encode("utf-8")) if i % 2 else text


def test_same_bytes_as_one_after_the_other():
    def direct(fh):
        for c in _chunks():
            fh.write(c.encode("utf-8") if isinstance(c, str) else c)

    assert _package(lambda fh: _write_behind(fh, _chunks())) == _package(direct)


def test_an_error_making_a_chunk_is_raised_and_the_writer_stops():
    def broken():
        yield "<row/>"
        raise ValueError("a cell cannot be written")

    with pytest.raises(ValueError, match="a cell cannot be written"):
        _package(lambda fh: _write_behind(fh, broken()))


def test_an_error_writing_is_raised_in_the_caller():
    class Full:
        def __init__(self):
            self.n = 0

        def write(self, data):
            self.n += 1
            if self.n == 3:
                raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        _write_behind(Full(), _chunks())
