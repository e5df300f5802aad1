# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 1b048d1832477c20
"""The exceptions of ``fakecore.exception``, re-exported: the same classes, caught the same way in both APIs."""

from fakecore.exception import Error as Error
from fakecore.exception import NotFoundError as NotFoundError

__all__ = ["Error", "NotFoundError"]
