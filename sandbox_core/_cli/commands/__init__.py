"""The command modules of ``sandbox-core``. Each has ``register(app)``, adding its commands (top-level ones, or a
group such as ``image``) to the root app; ``_app.COMMAND_MODULES`` lists them."""
