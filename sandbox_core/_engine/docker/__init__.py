"""The Docker Engine API implementation of ``EngineAPI`` (aiodocker over aiohttp).

The only code in sandbox_core that imports aiodocker or aiohttp, and the only code that reads the engine's JSON
(``parse.py``). A Podman socket speaks the same API; its quirks belong here, nowhere above.
"""
