"""``python -m sandbox_core._cli``: the same as the ``sandbox-core`` console script."""

from . import main

main()
