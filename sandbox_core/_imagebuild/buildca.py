"""Extra CA certificates for the network access of build steps, named by the user.

``SANDBOX_CORE_BUILD_CA_BUNDLE=/path/to/bundle.pem`` (read when a build starts) makes every ``RUN`` instruction
the library renders trust those certificates *in addition to* the image's own bundle: the PEM text travels as the
build arguments ``SANDBOX_CORE_BUILD_CA_0``, ``_1``, ... (split at certificate boundaries into pieces of at most
96 KiB, since the kernel refuses a single environment string over 128 KiB and a host bundle is ~200 KiB); a
wrapper writes it (appended to ``/etc/ssl/certs/ca-certificates.crt``
when the image has one) to a temporary file, points ``SSL_CERT_FILE``, ``PIP_CERT``, ``REQUESTS_CA_BUNDLE``,
``CURL_CA_BUNDLE``, ``GIT_SSL_CAINFO``, ``NODE_EXTRA_CA_CERTS`` and apt (``Acquire::https::CAInfo`` via
``APT_CONFIG``) at it, runs the command, and removes the file in the same instruction. A step with build-time
values (``envbuild``) gets the same variables on its container's stdin instead of as build arguments.

Consequences, by design:
- The image's filesystem does not change: no certificate is left in any layer, and the content address of a step
  does not depend on the setting (the same definition built with or without it has the same tag).
- The PEM text is visible in ``docker history`` of the layers built with it (build arguments are recorded there);
  certificates are public, and a file holding a private key is refused.
- Nothing is read implicitly: without the variable, builds use the image's own trust store.
- Raw ``dockerfile_commands`` are passed through as written.
"""

from __future__ import annotations

import os

import attrs

from ..exception import InvalidError

ENV_VAR = "SANDBOX_CORE_BUILD_CA_BUNDLE"
BUILD_ARG = "SANDBOX_CORE_BUILD_CA"
#: Bundles are certificate lists of at most a few hundred KiB; anything far larger is a wrong path.
MAX_BYTES = 4 << 20
#: The largest piece of the bundle in one build argument (one environment string may not exceed 128 KiB).
PIECE_BYTES = 96 << 10
_END = "-----END CERTIFICATE-----"

_SETUP = (
    '_scb="${{TMPDIR:-/tmp}}/.sandbox-core-build-ca.pem"; '
    '{{ cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; printf "%s\\n" {pieces}; }} > "$_scb" && '
    'printf \'Acquire::https::CAInfo "%s";\\n\' "$_scb" > "$_scb.apt" && '
    'export SSL_CERT_FILE="$_scb" PIP_CERT="$_scb" REQUESTS_CA_BUNDLE="$_scb" CURL_CA_BUNDLE="$_scb" '
    'GIT_SSL_CAINFO="$_scb" NODE_EXTRA_CA_CERTS="$_scb" APT_CONFIG="$_scb.apt"'
)
_CLEANUP = 'rm -f "$_scb" "$_scb.apt"'


@attrs.frozen
class BuildCA:
    """The PEM text to trust during builds and where it came from."""

    pem: str
    source: str

    @staticmethod
    def from_env() -> BuildCA | None:
        """The bundle named by ``SANDBOX_CORE_BUILD_CA_BUNDLE``, or None when unset. Raises ``InvalidError`` for
        a missing, oversized or non-certificate file."""
        path = os.environ.get(ENV_VAR)
        if not path:
            return None
        return BuildCA.from_file(path)

    @staticmethod
    def from_file(path: str) -> BuildCA:
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_BYTES + 1)
        except OSError as e:
            raise InvalidError(f"{ENV_VAR}={path!r} cannot be read: {e.strerror}") from None
        if len(raw) > MAX_BYTES:
            raise InvalidError(f"{ENV_VAR}={path!r} is larger than {MAX_BYTES >> 20} MiB; name a PEM bundle")
        text = raw.decode("ascii", "replace")
        if "PRIVATE KEY" in text:
            raise InvalidError(f"{ENV_VAR}={path!r} holds a private key; name a file of certificates only")
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise InvalidError(f"{ENV_VAR}={path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return BuildCA(pem=text.strip(), source=path)

    def pieces(self) -> tuple[str, ...]:
        """The PEM text cut after whole certificates into pieces of at most ``PIECE_BYTES``."""
        out: list[str] = []
        current = ""
        for cert in (c + _END for c in self.pem.split(_END) if c.strip()):
            if current and len(current) + len(cert) > PIECE_BYTES:
                out.append(current)
                current = ""
            current += cert
        return (*out, current) if current else tuple(out)

    def build_args(self) -> dict[str, str]:
        """The build arguments that carry the bundle."""
        return {f"{BUILD_ARG}_{i}": piece.strip() for i, piece in enumerate(self.pieces())}

    def arg_lines(self) -> tuple[str, ...]:
        """The ``ARG`` instructions that make the build arguments visible to ``RUN``."""
        return tuple(f"ARG {name}" for name in self.build_args())


def wrap_shell(command: str, ca: BuildCA | None) -> str:
    """``command`` (shell syntax), with ``ca`` preceded by the trust setup and followed by its cleanup; the exit
    status is the command's. Build-time values are not given here (see ``envbuild``)."""
    if ca is None:
        return command
    setup = _SETUP.format(pieces=" ".join(f'"${name}"' for name in ca.build_args()))
    return f"{setup} && ({command}); _rc=$?; {_CLEANUP}; exit $_rc"
