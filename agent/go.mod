module sandboxcore/agent

go 1.19
