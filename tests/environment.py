"""Loaded by pytest before Django reads its settings (see addopts in pyproject).

Tests run with production-like settings (DEBUG off) and short sync timings.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DEBUG", "False")
os.environ.setdefault("SECURE_COOKIES", "False")
