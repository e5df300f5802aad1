"""Image building on the local engine (private; ``sandbox_core.image`` is the public face).

- ``definition``: ``ImageDefinition`` (root + ordered steps + mount layers) and its chain of content addresses.
- ``steps``: the step values (``RunCommands``, ``AptInstall``, ``PipInstall``, ``CopyLocal``, ...) rendered as
  Modal renders them.
- ``builder.build``: build a definition, one image per step, reusing every step already built.
- ``base.ensure_python_base``: the ``debian_slim`` image, found, pulled or built from Debian (``debian``) under the
  Python version policy of ``pyversions``.
- ``mounts.apply_mounts``: copy mount layers (``add_local_*(copy=False)``) into a created container.
- ``once``: build-once across concurrent callers and processes; ``tarstream``: deterministic streamed tars;
  ``buildca``: extra CA certificates for build steps; ``patterns``: ``.dockerignore``-style ignore rules;
  ``context``: which local files a Dockerfile's build context holds (its ``COPY`` sources, ``.dockerignore``).
- ``modal_args`` and ``recipes``: Modal's ``Image`` method arguments and higher-level methods as step values.
- ``names``: published image names (``Image.publish``/``from_name``) as engine tags.
- ``gc``: what ``sweep()`` and the supervisor remove (expired snapshots, step images unused for a while).
- ``retar``: re-rooting an archive stream (snapshots of a directory, ``mount_image``); ``report``: the builder's
  status lines apart from the engine's log.
"""
