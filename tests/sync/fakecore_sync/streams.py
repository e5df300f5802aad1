# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 1b048d1832477c20
"""``fakecore.streams`` in the blocking facade (generated):
the same names as in ``fakecore_sync``."""

from fakecore.streams import StreamType as StreamType
from fakecore_sync._generated import StreamReader as StreamReader
from fakecore_sync._generated import StreamWriter as StreamWriter

__all__ = ["StreamReader", "StreamType", "StreamWriter"]
