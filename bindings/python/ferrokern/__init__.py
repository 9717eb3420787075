"""ferrokern: native-speed, all-cores kernels for Python data pipelines.

Drop-in replacements that return exactly what the pure-Python reference returns::

    import ferrokern
    ferrokern.extract_and_aggregate(texts)   # [{key: sum}, ...] for (\\w+)\\s+(\\d+)
    ferrokern.extract_emails(texts)          # [[email, ...], ...] of text.lower()
    p = ferrokern.compile(r"(\\w+)=(\\d+)")    # findall / count / sum_by_key / frequencies

Errors raise ``ferrokern.Error`` subclasses that are also the usual built-ins
(ValueError, TypeError, MemoryError, OSError)."""

from . import _native
from ._native import (
    Error,
    InvalidTextError,
    PatternError,
    library_path,
    library_version,
    set_threads,
    threads,
)
from ._text import Pattern, compile, extract_and_aggregate, extract_emails
from . import _arrays, _report
from ._arrays import *  # noqa: F401,F403 - see _arrays.__all__
from ._report import *  # noqa: F401,F403 - see _report.__all__

__version__ = "0.1.0"

# Export every generated status exception (NullPointerError, InvalidUTF8Error, ...).
globals().update({cls.__name__: cls for cls in _native._EXCEPTIONS.values()})

__all__ = (
    [
        "Error",
        "InvalidTextError",
        "PatternError",
        "Pattern",
        "compile",
        "extract_and_aggregate",
        "extract_emails",
        "set_threads",
        "threads",
        "library_path",
        "library_version",
        "__version__",
    ]
    + [cls.__name__ for cls in _native._EXCEPTIONS.values()]
    + _arrays.__all__
    + _report.__all__
)
