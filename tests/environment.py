"""Loaded by pytest before Django reads its settings (see addopts in pyproject).

Tests run with production-like settings (DEBUG off) and short sync timings.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("SECURE_COOKIES", "False")
# A fixed key, so that worker subprocesses read what the tests wrote.
os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", "bWFpbHN5bmMtdGVzdHMta2V5LWZvci10ZXN0cy1vbmw=")
# Gmail's real quota would make every sync in the suite take minutes; tests
# about pacing set their own.
os.environ.setdefault("GMAIL_QUOTA_UNITS_PER_MINUTE", "6000000")
os.environ.setdefault("GMAIL_PROJECT_QUOTA_UNITS_PER_MINUTE", "600000000")
# One queue: the tests' clusters serve it; the lane tests turn lanes on.
os.environ.setdefault("SYNC_LANES", "False")
os.environ.setdefault("GOOGLE_CLIENT_ID", "mailsync-test")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "mailsync-test-secret")
# Static files under their own names, from the source folders: tests never run
# collectstatic (bin/check-production does, booting the production configuration).
os.environ.setdefault("STATIC_MANIFEST", "False")
_static_root = os.path.join(tempfile.gettempdir(), "mailsync-test-static")
os.makedirs(_static_root, exist_ok=True)
os.environ.setdefault("STATIC_ROOT", _static_root)

# One test database per pytest process, so two runs on one machine never share.
if "postgres" in os.environ.get("DATABASE_URL", ""):
    os.environ.setdefault("TEST_DATABASE_NAME", f"test_mailsync_{os.getpid()}")
else:
    os.environ.setdefault(
        "TEST_DATABASE_NAME",
        os.path.join(tempfile.gettempdir(), f"test_mailsync_{os.getpid()}.sqlite3"),
    )
