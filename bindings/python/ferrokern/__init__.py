"""ferrokern: native-speed, all-cores kernels for Python data pipelines.

Drop-in replacements that return exactly what the pure-Python reference returns::

    import ferrokern
    ferrokern.extract_and_aggregate(texts)   # [{key: sum}, ...] for (\\w+)\\s+(\\d+)
    ferrokern.extract_emails(texts)          # [[email, ...], ...] of text.lower()
    p = ferrokern.compile(r"(\\w+)=(\\d+)")    # findall / count / sum_by_key / frequencies

Errors raise ``ferrokern.Error`` subclasses that are also the usual built-ins
(ValueError, TypeError, MemoryError, OSError).

``ferrokern.sum`` and ``ferrokern.compile`` are left out of ``__all__`` so that
``from ferrokern import *`` never shadows the built-ins ``sum`` and ``compile``; use them
by name. ``ferrokern.dask`` is imported on first use (it does not import dask itself until
a report runs)."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from . import _arrays, _native, _report, _text
from ._arrays import *  # noqa: F403 - see _arrays.__all__
from ._arrays import sum as sum  # noqa: A004 - by name only: not in __all__
from ._native import *  # noqa: F403 - see _native.__all__
from ._report import *  # noqa: F403 - see _report.__all__
from ._text import *  # noqa: F403 - see _text.__all__
from ._text import compile as compile  # noqa: A004 - by name only: not in __all__

if TYPE_CHECKING:
    from . import dask as dask


def _version() -> str:
    # One source of truth: the installed distribution's metadata (a wheel's version comes
    # from Cargo.toml); the library's own version when the package is not installed.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ferrokern")
    except PackageNotFoundError:
        return _native.library_version


__version__: str = _version()

__all__ = ["__version__"]
__all__ += _native.__all__
__all__ += _text.__all__
__all__ += _arrays.__all__
__all__ += _report.__all__

if not TYPE_CHECKING:  # type checkers see `dask` through the import above

    def __getattr__(name: str) -> ModuleType:
        # PEP 562: `ferrokern.dask` without `import ferrokern.dask`, and without importing
        # the ferrokern.dask module (or dask) for users who never touch it.
        if name == "dask":
            import importlib

            return importlib.import_module(".dask", __name__)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*globals(), "dask"})
