import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# The package under test: whatever `import ferrokern` finds (an installed wheel, or the
# checkout named by PYTHONPATH, as `make test-python` does); only when nothing is found,
# the package in this checkout, whatever the working directory.
if importlib.util.find_spec("ferrokern") is None:
    sys.path.insert(0, str(ROOT / "bindings" / "python"))

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
