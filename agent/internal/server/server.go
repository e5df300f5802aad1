// Package server serves the agent's operations on multiplexed channels: exec, filesystem, watch, activity.
package server

import (
	"bytes"
	"encoding/json"
	"os"
	"sync/atomic"
	"time"

	"sandboxcore/agent/internal/mux"
	"sandboxcore/agent/internal/proc"
	"sandboxcore/agent/internal/watch"
)

// Version is the agent's build version, reported by the info op.
const Version = "1.2.4"

// Server holds what every channel shares.
type Server struct {
	self     string   // this binary, re-executed as the per-exec shim
	baseEnv  []string // the sandbox's default environment (the agent's own)
	reaper   *proc.Reaper
	hub      *watch.Hub
	last     int64 // unix nanoseconds of the last activity
	running  int64 // execs whose program has not exited
	features uint64
	monitor  bool // serves only activity and info (a supervisor's session: no execs, no files)
}

// New returns a server whose execs start from env.
func New(self string, env []string, features uint64) *Server {
	s := &Server{self: self, baseEnv: env, reaper: proc.NewReaper(), hub: watch.NewHub(), features: features}
	s.Touch()
	return s
}

// NewMonitor returns a server that answers only activity and info: what a supervisor needs to tell whether a
// sandbox is idle, at the cost of a few threads (it starts no processes and watches nothing).
func NewMonitor(features uint64) *Server {
	s := &Server{features: features, monitor: true}
	s.Touch()
	return s
}

// Touch records activity now.
func (s *Server) Touch() { atomic.StoreInt64(&s.last, time.Now().UnixNano()) }

type request struct {
	Op string `json:"op"`
}

// monitorOps are the ops a monitor serves.
var monitorOps = map[string]bool{"activity": true, "info": true}

// Handle serves one channel; req is its OPEN payload.
func (s *Server) Handle(ch *mux.Channel, req []byte) {
	var r request
	if err := json.Unmarshal(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", "request is not a JSON object: "+err.Error())
		return
	}
	if s.monitor && !monitorOps[r.Op] {
		s.fail(ch, "InvalidArgument", "op "+jsonString(r.Op)+" is not served by a monitor (allowed: activity, info)")
		return
	}
	switch r.Op {
	case "exec":
		s.exec(ch, req)
	case "stat", "list", "mkdir", "remove", "read", "write":
		s.fs(ch, r.Op, req)
	case "watch":
		s.watch(ch, req)
	case "activity":
		s.activity(ch, req)
	case "kill":
		s.kill(ch, req)
	case "info":
		cwd, _ := os.Getwd()
		s.reply(ch, map[string]any{
			"t": "result", "version": Version, "pid": os.Getpid(), "uid": os.Getuid(), "gid": os.Getgid(),
			"cwd": cwd, "features": s.features,
		})
	default:
		s.fail(ch, "InvalidArgument", "unknown op "+jsonString(r.Op)+
			" (allowed: exec, stat, list, mkdir, remove, read, write, watch, activity, kill, info)")
	}
}

func jsonString(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// decode parses req strictly into v (unknown fields are refused).
func decode(req []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(req))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func (s *Server) reply(ch *mux.Channel, v any) {
	_ = ch.SendMsg(v)
	ch.Close()
}

func (s *Server) fail(ch *mux.Channel, kind, msg string) {
	_ = ch.SendMsg(mux.ErrorMsg(kind, msg))
	ch.Close()
}
