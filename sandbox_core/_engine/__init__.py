"""The engine layer: the only code in sandbox_core that talks to Docker (aiodocker/aiohttp).

Public objects call the narrow, typed functions of these modules and never see ``DockerError`` or aiohttp errors;
every engine failure arrives as a ``sandbox_core.exception`` class. The engine layer knows nothing of Modal's
semantics (return-code mapping, validation messages). A second backend would be a second implementation of
these modules, not ``if`` branches through the public classes.
"""
