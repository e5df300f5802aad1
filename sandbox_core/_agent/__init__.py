"""The in-sandbox agent's client: one long-lived exec stream per sandbox, multiplexing execs, files and watches.

Layout: ``protocol`` (wire format), ``transport`` (the byte-stream seam), ``channel`` (per-channel flow
control), ``client`` (the session and its operations), ``ops`` (typed handles), ``binary`` (the packaged
agent binaries), ``volume`` + ``engine_calls`` (getting the binary into sandboxes). The agent itself is the Go
module under ``agent/`` at the repository root; ``agent/PROTOCOL.md`` specifies the protocol.
"""
