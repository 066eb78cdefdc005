"""The app's settings with the bench URLconf, for the gunicorn that the poll benchmark starts."""

from mailsync.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
