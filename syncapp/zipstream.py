"""A zip archive written as a stream, in memory that does not grow with its entries.

zipfile keeps an object per entry until it writes the central directory at the end
(about 400 bytes each: 400 MB for a million messages). Here each entry's directory
record is spooled to a temporary file as the entry ends, and copied out at the end.
Every entry is deflated and written with zip64 sizes and offsets (any size, any
number), sizes after the data (a data descriptor): what every current unzip reads.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime

CHUNK = 64 * 1024
_VERSION = 45  # zip64
_FLAGS = 0x0008 | 0x0800  # sizes in a data descriptor; UTF-8 names
_DEFLATED = 8
_MAX32 = 0xFFFFFFFF


def _dos_time(when: datetime) -> tuple[int, int]:
    year = min(max(when.year, 1980), 2107)
    date = (year - 1980) << 9 | when.month << 5 | when.day
    time = when.hour << 11 | when.minute << 5 | when.second // 2
    return time, date


def _local_header(name: bytes, time: int, date: int) -> bytes:
    # The zip64 extra field, its sizes left for the data descriptor.
    extra = struct.pack("<HHQQ", 0x0001, 16, 0, 0)
    fixed = struct.pack(
        "<4sHHHHHLLLHH", b"PK\x03\x04", _VERSION, _FLAGS, _DEFLATED, time, date, 0, 0, 0,
        len(name), len(extra),
    )  # fmt: skip
    return fixed + name + extra


def _directory_record(
    name: bytes, time: int, date: int, *, crc: int, sizes: tuple[int, int], start: int
) -> bytes:
    """The entry's central directory record; its sizes and offset in the zip64 extra."""
    extra = struct.pack("<HHQQQ", 0x0001, 24, *sizes, start)
    fixed = struct.pack(
        "<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", _VERSION, _VERSION, _FLAGS, _DEFLATED, time,
        date, crc, _MAX32, _MAX32, len(name), len(extra), 0, 0, 0, 0, _MAX32,
    )  # fmt: skip
    return fixed + name + extra


class ZipStream:
    """Entries go in with `entry(name, when, chunks)`, which yields the archive's
    bytes as they are made; `finish()` yields the directory at the end."""

    def __init__(self) -> None:
        self.offset = 0
        self.count = 0
        # Closed by __exit__: the archive is used as a context manager.
        self.directory = tempfile.TemporaryFile()  # noqa: SIM115

    def __enter__(self) -> ZipStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Also when the download was abandoned half way.
        self.directory.close()

    def entry(self, name: str, when: datetime, chunks: Iterable[bytes]) -> Iterator[bytes]:
        encoded = name.encode()
        time, date = _dos_time(when)
        start = self.offset
        yield self._out(_local_header(encoded, time, date))
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        crc = size = compressed = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            if out := compressor.compress(chunk):
                compressed += len(out)
                yield self._out(out)
        out = compressor.flush()
        compressed += len(out)
        yield self._out(out + struct.pack("<4sLQQ", b"PK\x07\x08", crc, compressed, size))
        self.directory.write(
            _directory_record(encoded, time, date, crc=crc, sizes=(size, compressed), start=start)
        )
        self.count += 1

    def finish(self) -> Iterator[bytes]:
        start = self.offset
        self.directory.seek(0)
        while data := self.directory.read(CHUNK):
            yield self._out(data)
        size = self.offset - start
        end64 = self.offset
        yield self._out(
            struct.pack(
                "<4sQHHLLQQQQ",
                b"PK\x06\x06",
                44,
                _VERSION,
                _VERSION,
                0,
                0,
                self.count,
                self.count,
                size,
                start,
            )
            + struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1)
            + struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, _MAX32, _MAX32, 0)
        )

    def _out(self, data: bytes) -> bytes:
        self.offset += len(data)
        return data
