"""Makes the shared helpers in `tests/test_case.py` importable as `test_case` (tests/ is no package)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The download tests' `cache` and `server` fixtures (a fresh cache, a local HTTP server).
pytest_plugins = ["robustness.download_server"]
