"""``python -m sandbox_core._imagebuild [--python 3.X ...] [-v]``: make sure the Python base images exist.

Used by scripts/build-images.sh so that tests and demos do not pay the base image's build at first use. Without
``--python`` it makes the image ``Image.debian_slim()`` uses (the local interpreter's series). ``-v`` shows the
build's output; failures always show its tail.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .._engine import close_engine, get_engine
from ..exception import Error
from .base import ensure_python_base


async def _prebuild(versions: list[str | None], verbose: bool) -> int:
    eng = await get_engine()
    try:
        for version in versions:
            t0 = time.monotonic()
            made = await ensure_python_base(eng, version, on_line=print if verbose else None)
            info = await eng.images.inspect(made.image_id)
            size = f", {info.size / 1e6:.0f} MB" if info is not None else ""
            print(f"build-images: {made.tag} ({made.source}{size}) ready after {time.monotonic() - t0:.1f} s")
    except Error as e:
        print(f"build-images: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        await close_engine()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox_core._imagebuild", description=__doc__)
    parser.add_argument("--python", action="append", dest="versions", help="a series such as 3.11 (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the build output")
    args = parser.parse_args()
    return asyncio.run(_prebuild(args.versions or [None], args.verbose))


if __name__ == "__main__":
    sys.exit(main())
