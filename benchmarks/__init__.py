"""sandbox-core benchmark harness: the source of every performance claim the project makes.

Run it as ``python -m benchmarks [--quick] [--out DIR] [--phases P1,P4,...] [--arms ...]`` (``nox -s bench``).
See ``benchmarks/README.md`` for what each phase and arm measures.
"""
