"""A real multi-node Docker Swarm for tests: private dockerds in network namespaces (see harness.py)."""
