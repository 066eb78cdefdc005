"""The mail storage's folder backend: a name holds a whole original or nothing."""

import stat

import pytest
import zstandard
from django.core.files.base import ContentFile, File

from syncapp.originals import blob_name, mail_storage, original_put
from syncapp.originalstorage import OriginalFileSystemStorage

RAW = b"From: Dora <dora@maps.example>\r\nSubject: Maps\r\n\r\nMap.\r\n"


class Interrupted(Exception):
    pass


class FailsMidway(File):
    """Content whose writer dies after its first chunk, as a killed worker would."""

    def __init__(self) -> None:
        super().__init__(None, name="partial")

    def chunks(self, chunk_size=None):
        yield b"the first half of an original"
        raise Interrupted


@pytest.fixture
def folder(tmp_path):
    return OriginalFileSystemStorage(location=str(tmp_path))


def test_it_makes_the_folders_of_a_name_when_it_first_writes_there(folder, tmp_path):
    folder.save("originals/ab/cd/abcd.eml.zst", ContentFile(b"bytes"))

    assert (tmp_path / "originals/ab/cd/abcd.eml.zst").read_bytes() == b"bytes"


def test_a_write_that_dies_midway_leaves_nothing_under_the_name(folder, tmp_path):
    with pytest.raises(Interrupted):
        folder.save("originals/ab/cd/abcd.eml.zst", FailsMidway())

    assert not folder.exists("originals/ab/cd/abcd.eml.zst")
    assert list((tmp_path / "originals/ab/cd").iterdir()) == []


def test_writing_a_name_again_keeps_that_name(folder):
    folder.save("originals/ab/cd/abcd.eml.zst", ContentFile(b"bytes"))

    assert folder.save("originals/ab/cd/abcd.eml.zst", ContentFile(b"bytes")) == (
        "originals/ab/cd/abcd.eml.zst"
    )
    assert folder.listdir("originals/ab/cd") == ([], ["abcd.eml.zst"])


def test_originals_are_readable_by_their_owner_only(folder, tmp_path):
    folder.save("originals/ab/cd/abcd.eml.zst", ContentFile(b"bytes"))

    mode = (tmp_path / "originals/ab/cd/abcd.eml.zst").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_an_original_whose_first_write_died_is_stored_whole_by_the_next(monkeypatch):
    storage = mail_storage()
    with monkeypatch.context() as dying:
        dying.setattr("syncapp.originals.ContentFile", lambda content: FailsMidway())
        with pytest.raises(Interrupted):
            original_put(RAW)

    stored = original_put(RAW)

    with storage.open(blob_name(stored.sha256)) as kept:
        assert zstandard.ZstdDecompressor().decompress(kept.read()) == RAW
