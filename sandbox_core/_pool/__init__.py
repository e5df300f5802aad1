"""Warm pools (``sandbox_core.pool.SandboxPool``): ``records`` holds what a claim makes true for every process (claim
records, member ownership), ``member`` makes and watches members."""
