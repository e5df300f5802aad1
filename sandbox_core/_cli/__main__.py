"""``python -m sandbox_core._cli``: the same as the ``sandbox-core`` console script."""

from . import main

if __name__ == "__main__":
    main()
