"""Large blocks go back to the system when freed: glibc's threshold is fixed at start."""

import platform

import pytest
from django.apps import apps

from syncapp import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_glibc_takes_the_fixed_threshold():
    assert allocator.mmap_threshold_pin()


def test_a_c_library_without_mallopt_changes_nothing(monkeypatch):
    class NoMallopt:
        def __init__(self, name):
            pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", NoMallopt)

    assert not allocator.mmap_threshold_pin()


def test_every_process_fixes_it_when_django_starts(monkeypatch):
    pinned = []
    monkeypatch.setattr("syncapp.apps.mmap_threshold_pin", lambda: pinned.append(True))

    apps.get_app_config("syncapp").ready()

    assert pinned == [True]
