"""The default backend of the "mail" storage: a folder, written for originals.

Originals are named by the hash of their content and never change, so the storage
takes a name's presence for the whole of its bytes (`originals.original_put`). Django's
`FileSystemStorage` writes in place: a worker killed mid-write leaves a partial file
under the full name, and every later copy of that mail would be taken as stored. Here
a file is written beside its name and renamed when complete (a rename is atomic), so a
name is there whole or not at all.

It also writes with fewer system calls, which a sync makes once per message: no lock
(no two writers write different bytes to one name), no search for a free name
(overwriting writes the same bytes), and the folders are made only when the first
write into them finds them missing. Files are readable by their owner only: they are
people's mail.
"""

from __future__ import annotations

import os
import threading
from contextlib import suppress

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
_MODE = 0o600


@deconstructible(path="syncapp.originalstorage.OriginalFileSystemStorage")
class OriginalFileSystemStorage(FileSystemStorage):
    def __init__(self, **options) -> None:
        # Writing a name again writes the same bytes: never look for another name.
        super().__init__(**{**options, "allow_overwrite": True})

    def _save(self, name: str, content: File) -> str:
        full_path = self.path(name)
        # Unique to this thread: two writers of one original never share a partial file.
        partial = f"{full_path}.{os.getpid()}-{threading.get_ident()}.part"
        try:
            fd = os.open(partial, _FLAGS, _MODE)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(full_path), exist_ok=True)
            fd = os.open(partial, _FLAGS, _MODE)
        try:
            with os.fdopen(fd, "wb") as file:
                for chunk in content.chunks():
                    file.write(chunk)
            os.replace(partial, full_path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return name
