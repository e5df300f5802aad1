"""How file operations reach a sandbox: two transports behind one interface, chosen once per call.

- ``base.py``: the transport interface (``FileTransport``; ``TreeTransport`` adds list/remove/snapshot), path
  helpers and the internal failure type.
- ``archive.py``: the engine's archive API (no process in the sandbox, acts as root).
- ``process.py``: short processes in the sandbox under ``/bin/sh``, as the sandbox's user.
- ``ops.py``: ``FileOps``, one sandbox's file operations: the transport choice rule and Modal's error classes.
- ``local.py``: the local-disk side of ``copy_to_local``/``copy_from_local``.
- ``watch.py``: ``watch`` as snapshots and their differences.
"""
