"""How an exec reaches a sandbox: ``ExecBackend`` (``base``), with two implementations — the engine's exec API
(``engine``) and the in-sandbox agent (``agent``) — and the per-sandbox choice between them (``select``).
``ContainerProcess`` (``sandbox_core.process``) is written once against ``RunningExec`` and knows neither.
"""
