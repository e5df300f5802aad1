"""Volumes on the engine: named and ephemeral volumes as labelled engine volumes (``store``), their file API through
short-lived helper containers (``helper``, ``files``, ``upload``), their mounts into sandboxes (``mounts``), and the
collection of volumes nobody owns any more (``gc``). The public face is ``sandbox_core.volume``.
"""
