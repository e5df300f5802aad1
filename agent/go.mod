module sandbox-core/agent

go 1.19
