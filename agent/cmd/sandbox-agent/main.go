// Command sandbox-agent is sandbox-core's in-sandbox agent: it serves execs, filesystem operations and watches
// to one client over its own stdin/stdout (an engine exec stream), multiplexed as PROTOCOL.md specifies. It
// listens on no port or socket and runs with the privileges of the exec that started it.
//
//	sandbox-agent serve     serve one session on stdin/stdout; exit when the client closes its side
//	sandbox-agent monitor   the same, serving only activity and info (a supervisor's light session)
//	sandbox-agent version   print the version
//	sandbox-agent shim ...  internal: the per-exec subreaper (started by the agent itself)
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"sandboxcore/agent/internal/mux"
	"sandboxcore/agent/internal/proc"
	"sandboxcore/agent/internal/proto"
	"sandboxcore/agent/internal/server"
)

// prestartThreads OS threads are made at start: at the pids limit a Go program cannot create threads later.
const prestartThreads = 24

const features = proto.FeatExec | proto.FeatPty | proto.FeatFS | proto.FeatWatch | proto.FeatActivity |
	proto.FeatTreeKill | proto.FeatPathBytes

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "shim" {
		os.Exit(proc.ShimMain(os.Args[2:]))
	}
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Printf("sandbox-agent %s protocol %d\n", server.Version, proto.Version)
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "serve" {
		os.Exit(serve())
	}
	if len(os.Args) == 2 && os.Args[1] == "monitor" {
		os.Exit(monitor())
	}
	fmt.Fprintln(os.Stderr, "usage: sandbox-agent serve | monitor | version")
	os.Exit(2)
}

func serve() int {
	runtime.GOMAXPROCS(2)
	// Caught (not ignored) so the agent survives `kill -TERM -1` from sandboxed code, while execs, whose
	// handlers exec resets, still get default dispositions.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	_ = proc.SetSubreaper()
	proc.PrestartThreads(prestartThreads)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-agent: cannot find its own binary:", err)
		return 1
	}
	proc.GrowPipe(os.Stdout) // a no-op unless stdout is a pipe or FIFO, as under an engine exec
	srv := server.New(self, os.Environ(), features)
	return run(srv, features, 1024)
}

// monitor serves activity and info only: one OS thread for Go code, no pre-started threads, no subreaper, so a
// supervisor's session costs the sandbox a handful of pids.
func monitor() int {
	runtime.GOMAXPROCS(1)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	const monitorFeatures = proto.FeatActivity
	return run(server.NewMonitor(monitorFeatures), monitorFeatures, 16)
}

func run(srv *server.Server, feats uint64, maxChannels uint32) int {
	cfg := mux.Config{
		Local: proto.Hello{
			Version: proto.Version, MaxFrame: 256 << 10, Window: 1 << 20, MaxChannels: maxChannels, Features: feats,
		},
		Handler:    srv.Handle,
		OnActivity: srv.Touch,
	}
	if err := mux.Serve(os.Stdin, os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox-agent:", err)
		return 2
	}
	return 0
}
