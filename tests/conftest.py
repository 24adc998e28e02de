"""Suite-wide test settings: keep every cache the product writes inside a temporary directory."""

from __future__ import annotations

import os
import tempfile

# Set before any test imports jaclang, so subprocesses inherit it too.
os.environ.setdefault("JAC_CACHE_DIR", tempfile.mkdtemp(prefix="jac-test-cache-"))
