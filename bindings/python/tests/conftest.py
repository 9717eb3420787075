import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if os.environ.get("FERROKERN_TEST_INSTALLED"):
    # `make test-python` runs the suite against the wheel installed in a fresh venv, from
    # outside the checkout: make sure that is the package under test, not this checkout's.
    import ferrokern

    _where = Path(ferrokern.__file__).resolve()
    if "site-packages" not in _where.parts:
        raise RuntimeError(f"FERROKERN_TEST_INSTALLED is set but ferrokern was imported from {_where}")
    if _where.parent / "_lib" not in Path(ferrokern.library_path()).resolve().parents:
        raise RuntimeError(f"the installed package loaded {ferrokern.library_path()}, not its own copy")
else:
    # Run the tests against the package in this checkout, whatever the working directory.
    sys.path.insert(0, str(ROOT / "bindings" / "python"))

from hypothesis import settings  # noqa: E402

# CI runs a fixed, reproducible set of examples (derandomize): a red CI then always points
# at the commit that changed behaviour, never at the draw of the day. The random search for
# new counterexamples is the "explore" profile, run by hand (`make fuzz-python`); what it
# finds becomes an @example.
settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("explore", max_examples=300, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
