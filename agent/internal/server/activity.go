package server

import (
	"sync/atomic"
	"syscall"
	"time"

	"sandboxcore/agent/internal/mux"
	"sandboxcore/agent/internal/proc"
)

type activityReq struct {
	Op    string `json:"op"`
	Scope string `json:"scope"` // "" or "session": this agent's own; "sandbox": also every other agent's
}

// activity reports this session's activity, and with scope "sandbox" a census of every agent in the sandbox:
// the shims alive (execs of any session still running) and the other sessions' I/O counter, which a supervisor
// compares between two calls to learn whether any session carried anything in between.
func (s *Server) activity(ch *mux.Channel, req []byte) {
	var r activityReq
	if err := decode(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", "activity request: "+err.Error())
		return
	}
	res := map[string]any{
		"t": "result", "last_activity": float64(atomic.LoadInt64(&s.last)) / 1e9,
		"running": atomic.LoadInt64(&s.running), "now": float64(time.Now().UnixNano()) / 1e9,
	}
	switch r.Scope {
	case "", "session":
	case "sandbox":
		c := proc.TakeCensus()
		res["sandbox_running"], res["peers"], res["peer_io"] = c.Shims, c.Peers, c.PeerIO
	default:
		s.fail(ch, "InvalidArgument", "scope must be \"session\" or \"sandbox\", got "+jsonString(r.Scope))
		return
	}
	s.reply(ch, res)
}

type killReq struct {
	Op     string  `json:"op"`
	Env    string  `json:"env"`    // the marker, "KEY=value": every process whose environment holds it exactly
	Signal int     `json:"signal"` // default SIGKILL
	Wait   float64 `json:"wait"`   // seconds to wait until the signalled processes are gone (at most 10)
}

// kill signals every process carrying an environment marker, and all their descendants (SignalMarked): the
// whole tree of an exec started with that marker, from any session, also after its channel closed.
func (s *Server) kill(ch *mux.Channel, req []byte) {
	var r killReq
	if err := decode(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", "kill request: "+err.Error())
		return
	}
	if r.Signal == 0 {
		r.Signal = int(syscall.SIGKILL)
	}
	if err := validateMarker(r.Env); err != nil {
		s.fail(ch, "InvalidArgument", err.Error())
		return
	}
	if r.Signal < 1 || r.Signal > 64 || r.Wait < 0 || r.Wait > 10 {
		s.fail(ch, "InvalidArgument", "signal must be between 1 and 64 and wait between 0 and 10 seconds")
		return
	}
	s.Touch()
	n, left := proc.SignalMarked([]byte(r.Env), syscall.Signal(r.Signal), time.Duration(r.Wait*float64(time.Second)))
	s.reply(ch, map[string]any{"t": "result", "signalled": n, "remaining": left})
}
