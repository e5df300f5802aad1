"""Which Python a ``debian_slim(python_version)`` image gets, from a registry or from Debian's archive.

Policy:
- ``python_version`` is validated as Modal validates it (builder 2025.06): a string ``3.X`` or ``3.X.Y`` of the
  series 3.10-3.14; free-threaded builds are refused for ``debian_slim``.
- ``None`` means the local interpreter's ``major.minor`` (as in Modal).
- From a registry the image is the official ``python:<3.X.Y>-slim-bookworm``, with Modal's patch release of each
  series unless a full version was asked for: every supported series is available.
- Without a registry the image is built from Debian's archive, which has one Python per suite: 3.11 (bookworm,
  Debian 12) and 3.13 (trixie, Debian 13). Debian has no 3.10 or 3.12 (bullseye's 3.9 is below Modal's range);
  3.14 is only in testing (forky), whose Release file must be re-signed weekly, so a stale mirror makes it
  unbuildable (seen here: "Release file ... is expired"); it is not offered. An explicit series that Debian lacks,
  or a full ``3.X.Y`` version (Debian ships its own patch release, not a chosen one), raises ``InvalidError``
  listing what is available and why. ``None`` with a local series Debian lacks falls back to 3.11 (bookworm, the
  Debian release of Modal's images) instead of failing: the sandbox's Python need not match the caller's.
"""

from __future__ import annotations

import os
import re
import sys

import attrs

from ..exception import InvalidError

#: Modal's series for image builder 2025.06, without the free-threaded 3.14t (refused by debian_slim).
SUPPORTED_SERIES = ("3.10", "3.11", "3.12", "3.13", "3.14")
#: The patch release of each series in Modal's 2025.06 base images (py/modal/builder/base-images.json).
OFFICIAL_MICRO = {"3.10": "3.10.17", "3.11": "3.11.12", "3.12": "3.12.10", "3.13": "3.13.3", "3.14": "3.14.2"}
OFFICIAL_CODENAME = "bookworm"
#: The series built when ``python_version=None`` names one Debian does not have.
FALLBACK_SERIES = "3.11"

_VERSION_RE = re.compile(r"^3(?:\.\d{1,2}){1,2}(rc\d*)?t?$")


@attrs.frozen
class Suite:
    """A Debian suite that provides one Python series."""

    codename: str
    release: str

    def sources(self, mirror: str, security_mirror: str) -> tuple[str, ...]:
        """The apt source lines of an image of this suite (the suite, its -updates and its -security)."""
        return (
            f"deb {mirror} {self.codename} main",
            f"deb {mirror} {self.codename}-updates main",
            f"deb {security_mirror} {self.codename}-security main",
        )


OFFLINE: dict[str, Suite] = {
    "3.11": Suite("bookworm", "Debian 12"),
    "3.13": Suite("trixie", "Debian 13"),
}
#: Why Debian's archive cannot provide the other supported series.
NOT_OFFLINE = {
    "3.10": "no Debian release packages it",
    "3.12": "no Debian release packages it",
    "3.14": "only Debian testing (forky) packages it, and testing's signed Release file expires within a week",
}


def debian_mirror() -> str:
    """The Debian archive to build from (``SANDBOX_CORE_DEBIAN_MIRROR``)."""
    return os.environ.get("SANDBOX_CORE_DEBIAN_MIRROR") or "http://deb.debian.org/debian"


def debian_security_mirror() -> str:
    """The Debian security archive (``SANDBOX_CORE_DEBIAN_SECURITY_MIRROR``)."""
    return os.environ.get("SANDBOX_CORE_DEBIAN_SECURITY_MIRROR") or "http://deb.debian.org/debian-security"


@attrs.frozen
class PythonRequest:
    """A validated ``python_version``: its series, the full version when one was given, and whether it came
    from the local interpreter (``None``)."""

    series: str
    full: str | None
    implicit: bool

    @property
    def official_version(self) -> str:
        """The ``python`` image version a registry pull uses."""
        return self.full or OFFICIAL_MICRO[self.series]


def parse(python_version: str | None) -> PythonRequest:
    """Validate ``python_version`` with Modal's rules and messages. Raises ``InvalidError`` (``TypeError`` for a
    float, as Modal does)."""
    if isinstance(python_version, float):
        raise TypeError("The `python_version` argument should be a string, not a float.")
    if python_version is None:
        series = "{}.{}".format(*sys.version_info)
        request = PythonRequest(series, None, implicit=True)
    elif not isinstance(python_version, str):
        raise InvalidError(f"Python version must be specified as a string, not {type(python_version).__name__}")
    elif not _VERSION_RE.match(python_version):
        raise InvalidError(f"Invalid Python version: {python_version!r}")
    elif python_version.endswith("t"):
        raise InvalidError("Free threaded Python is not supported with Image.debian_slim")
    else:
        parts = python_version.split(".")
        request = PythonRequest(f"{parts[0]}.{parts[1]}", python_version if len(parts) == 3 else None, False)
    if request.series not in SUPPORTED_SERIES and not request.implicit:
        raise InvalidError(
            f"Unsupported Python version: {python_version!r}. When using the '2025.06' Image builder, "
            f"the following series are supported: {list(SUPPORTED_SERIES)!r}."
        )
    return request


def offline_series(request: PythonRequest, why_no_registry: str | None = None) -> str:
    """The series to build from Debian's archive for ``request``. Raises ``InvalidError`` saying what is
    available and why when Debian cannot provide it."""
    if request.implicit:
        return request.series if request.series in OFFLINE else FALLBACK_SERIES
    available = ", ".join(f"{s} ({suite.codename}, {suite.release})" for s, suite in OFFLINE.items())
    reason = f" No registry provided the official python image ({why_no_registry})." if why_no_registry else ""
    if request.full is not None:
        raise InvalidError(
            f"Python {request.full} cannot be built without a registry: images built from Debian's archive get "
            f"the patch release of Debian's package; ask for a series instead. Available: {available}.{reason}"
        )
    if request.series not in OFFLINE:
        raise InvalidError(
            f"Python {request.series} cannot be built without a registry: {NOT_OFFLINE[request.series]}. "
            f"Available: {available}.{reason}"
        )
    return request.series
