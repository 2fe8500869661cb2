"""Memory limits checked before large allocations (readers, ensembles).

The limit is ``$DEVICELIB_MEMORY_LIMIT`` (bytes, or a quantity such as ``"2 GiB"``) when
set, else half of the machine's physical memory. An allocation estimated above it is
refused before any array is created, with a message naming the estimate, the limit and
how to split the work.
"""

from __future__ import annotations

import os

ENV = "DEVICELIB_MEMORY_LIMIT"


class ResourceLimitError(ValueError):
    """A request would need more memory than the limit allows (nothing was allocated)."""


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8.0 * 2**30


def memory_limit() -> float:
    """The allocation limit in bytes."""
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return float(text)
        except ValueError:
            pass
        from .units import Q_, UnitError

        try:
            return float(Q_(text).to("byte").magnitude)
        except Exception:
            raise UnitError(f"${ENV}: cannot read {text!r} as a size (write e.g. '4 GiB' or a number of bytes)") \
                from None
    return 0.5 * _physical_memory()


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_memory(nbytes: float, what: str, hint: str) -> None:
    """Raise ResourceLimitError when ``nbytes`` exceeds :func:`memory_limit`."""
    limit = memory_limit()
    if nbytes > limit:
        raise ResourceLimitError(
            f"{what} needs about {format_bytes(nbytes)}, above the memory limit {format_bytes(limit)} "
            f"(${ENV}); {hint}"
        )
