"""The in-sandbox agent's client: one long-lived exec stream per sandbox, multiplexing execs, files and watches.

Layout: ``protocol`` (wire format), ``transport`` (the byte-stream seam), ``channel`` (per-channel flow
control), ``client`` (the session and its operations), ``ops`` (typed handles), ``binary`` (the packaged
agent binaries), ``volume`` (getting the binary into sandboxes) and ``transport.open_agent_stream`` (reaching
it). The agent itself is the Go module under ``agent/`` at the repository root; ``agent/PROTOCOL.md`` specifies
the protocol.

Use::

    binary = agent_binary(await eng.architecture())
    volume = await ensure_agent_volume(eng, binary, helper_image=image)
    # create the container with agent_mount(volume) among its ContainerSpec.mounts, start it, then:
    agent = await Agent.connect(await open_agent_stream(eng, ref))     # AgentProtocolError -> engine fallback
    p = await agent.exec(["sh", "-c", "..."], env=..., workdir=..., pty=None)
    await p.write_stdin(b"..."); p.close_stdin()
    out = await p.stdout.read(); code = await p.wait(); p.kill(); p.close()
    await agent.write_file(path, data); async for chunk in await agent.read_file(path): ...
    async with await agent.watch(path, recursive=True) as events: ...
    await agent.close()
"""
