import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Run the tests against the package in this checkout, whatever the working directory.
sys.path.insert(0, str(ROOT / "bindings" / "python"))

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
