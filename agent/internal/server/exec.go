package server

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sandboxcore/agent/internal/mux"
	"sandboxcore/agent/internal/proc"
	"sandboxcore/agent/internal/proto"
	"sandboxcore/agent/internal/users"
)

type ptySize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

type execReq struct {
	Op       string            `json:"op"`
	Argv     []string          `json:"argv"`
	Env      map[string]string `json:"env"`
	ClearEnv bool              `json:"clear_env"`
	Workdir  string            `json:"workdir"`
	User     string            `json:"user"`
	Pty      *ptySize          `json:"pty"`
}

type ctlMsg struct {
	T      string `json:"t"`
	Signal int    `json:"signal"`
	Tree   bool   `json:"tree"`
	Rows   uint16 `json:"rows"`
	Cols   uint16 `json:"cols"`
}

func validateExec(r *execReq) error {
	if len(r.Argv) == 0 {
		return fmt.Errorf("argv must not be empty")
	}
	for _, a := range r.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("argv elements must not contain NUL bytes")
		}
	}
	if r.Argv[0] == "" {
		return fmt.Errorf("argv[0] must not be empty")
	}
	for k, v := range r.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("environment variable %q: names must be non-empty without '=' or NUL, values without NUL", k)
		}
	}
	if r.Workdir != "" && (!strings.HasPrefix(r.Workdir, "/") || strings.IndexByte(r.Workdir, 0) >= 0) {
		return fmt.Errorf("workdir must be an absolute path")
	}
	if r.Pty != nil && (r.Pty.Rows == 0 || r.Pty.Cols == 0) {
		return fmt.Errorf("pty rows and cols must be between 1 and 65535")
	}
	return nil
}

// validateMarker checks a kill marker: "KEY=value" with a non-empty name and value and no NUL (an empty value
// would match too much).
func validateMarker(m string) error {
	k, v, ok := strings.Cut(m, "=")
	if !ok || k == "" || v == "" || strings.IndexByte(m, 0) >= 0 {
		return fmt.Errorf("env must be a marker \"KEY=value\" with a non-empty name and value, without NUL")
	}
	return nil
}

// hasVar is true when env (KEY=value entries) sets name.
func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// mergeEnv applies overrides to base, keeping base's order; new names are appended in sorted order.
func mergeEnv(base []string, over map[string]string, clear bool) []string {
	out := make([]string, 0, len(base)+len(over))
	seen := map[string]bool{}
	if !clear {
		for _, kv := range base {
			k, _, _ := strings.Cut(kv, "=")
			if v, ok := over[k]; ok {
				out = append(out, k+"="+v)
				seen[k] = true
			} else {
				out = append(out, kv)
			}
		}
	}
	keys := make([]string, 0, len(over))
	for k := range over {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sortStrings(keys)
	for _, k := range keys {
		out = append(out, k+"="+over[k])
	}
	return out
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// identity resolves the exec's user; nil credentials mean "run as the agent".
func identity(user string, env map[string]string) (*syscall.Credential, string, error) {
	if user == "" {
		return nil, "", nil
	}
	id, err := users.Load("/").Resolve(user)
	if err != nil {
		return nil, "", &proc.SpawnError{Kind: "NotFound", Msg: err.Error()}
	}
	home := ""
	if _, set := env["HOME"]; !set {
		home = id.Home
	}
	if id.UID == os.Geteuid() && id.GID == os.Getegid() && len(id.Groups) == 0 && os.Geteuid() != 0 {
		return nil, home, nil
	}
	if os.Geteuid() != 0 {
		return nil, "", &proc.SpawnError{Kind: "PermissionDenied",
			Msg: fmt.Sprintf("the agent runs as uid %d and cannot start processes as %q", os.Geteuid(), user)}
	}
	return &syscall.Credential{Uid: uint32(id.UID), Gid: uint32(id.GID), Groups: id.Groups}, home, nil
}

func (s *Server) exec(ch *mux.Channel, req []byte) {
	var r execReq
	if err := decode(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", "exec request: "+err.Error())
		return
	}
	if err := validateExec(&r); err != nil {
		s.fail(ch, "InvalidArgument", err.Error())
		return
	}
	p, err := s.start(&r)
	if err != nil {
		kind, msg := "Io", err.Error()
		if se, ok := err.(*proc.SpawnError); ok {
			kind = se.Kind
		}
		s.fail(ch, kind, msg)
		return
	}
	atomic.AddInt64(&s.running, 1)
	s.Touch()
	_ = ch.SendMsg(map[string]any{"t": "started", "pid": p.ChildPid})
	s.serveExec(ch, p)
}

func (s *Server) start(r *execReq) (*proc.Process, error) {
	cred, home, err := identity(r.User, r.Env)
	if err != nil {
		return nil, err
	}
	env := mergeEnv(s.baseEnv, r.Env, r.ClearEnv)
	if home != "" {
		env = mergeEnv(env, map[string]string{"HOME": home}, false)
	}
	if r.Pty != nil && !hasVar(env, "TERM") {
		// As the engine's exec does for a TTY: programs need a terminal type to draw on it.
		env = append(env, "TERM=xterm")
	}
	path, err := proc.LookPath(r.Argv[0], env, r.Workdir)
	if err != nil {
		return nil, err
	}
	spec := proc.Spec{Path: path, Argv: r.Argv, Env: env, Dir: r.Workdir, Cred: cred}
	if r.Pty != nil {
		spec.Pty, spec.Rows, spec.Cols = true, r.Pty.Rows, r.Pty.Cols
	}
	return proc.Spawn(s.reaper, s.self, spec)
}

// serveExec pumps the exec's stdio and control messages until its program exited and its output ended, or the
// client closed the channel (then the agent's ends of the stdio are released; the processes keep running).
func (s *Server) serveExec(ch *mux.Channel, p *proc.Process) {
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); _ = ch.Pump(proto.StreamStdout, p.Stdout) }()
	if p.Stderr != nil {
		go func() { defer pumps.Done(); _ = ch.Pump(proto.StreamStderr, p.Stderr) }()
	} else {
		_ = ch.SendEOF(proto.StreamStderr)
		pumps.Done()
	}
	ch.OrderStdinAfterMsgs() // a resize sent before some input is applied before the program reads that input
	go s.feedStdin(ch, p)
	go s.control(ch, p)
	if p.Master != nil {
		go endPtyOutput(ch, p)
	}
	exited := make(chan struct{})
	go func() {
		<-p.Done()
		atomic.AddInt64(&s.running, -1)
		s.Touch()
		_ = ch.SendMsg(map[string]any{"t": "exit", "code": p.ExitCode()})
		close(exited)
	}()
	outDone := make(chan struct{})
	go func() { pumps.Wait(); close(outDone) }()
	select {
	case <-ch.Done():
	case <-waitBoth(exited, outDone):
	}
	p.Release()
	ch.Close()
}

// endPtyOutput bounds a PTY's output once the exec's processes are gone: runc's kernel reports the master's end
// (EIO) by itself, but some runtimes (gVisor) never do, so the pump stops after a short drain.
func endPtyOutput(ch *mux.Channel, p *proc.Process) {
	select {
	case <-p.ShimDone():
		_ = p.Master.SetReadDeadline(time.Now().Add(ptyDrain))
	case <-ch.Done():
	}
}

// ptyDrain is how long a PTY's output may still arrive after the exec's last process ended.
const ptyDrain = 200 * time.Millisecond

func waitBoth(a, b <-chan struct{}) <-chan struct{} {
	c := make(chan struct{})
	go func() { <-a; <-b; close(c) }()
	return c
}

func (s *Server) feedStdin(ch *mux.Channel, p *proc.Process) {
	partial := false
	broken := false
	for {
		b, err := ch.Read()
		if err == io.EOF {
			if !broken {
				p.CloseStdin(partial)
			}
			return
		}
		if err != nil {
			if p.Master == nil {
				p.Stdin.Close()
			}
			return
		}
		if broken {
			continue // the program closed its stdin: keep granting credit, drop the bytes
		}
		if _, err := p.Stdin.Write(b); err != nil {
			broken = true
			continue
		}
		partial = b[len(b)-1] != '\n'
	}
}

func (s *Server) control(ch *mux.Channel, p *proc.Process) {
	for {
		raw, ok := ch.NextMsg()
		if !ok {
			return
		}
		applyControl(raw, p)
		ch.MsgHandled()
	}
}

// applyControl applies one control message of an exec (unknown or malformed ones are ignored).
func applyControl(raw []byte, p *proc.Process) {
	var m ctlMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		return
	}
	switch m.T {
	case "signal":
		if m.Signal <= 0 || m.Signal > 64 {
			return
		}
		if m.Tree {
			go p.SignalTree(syscall.Signal(m.Signal))
		} else {
			_ = p.Signal(syscall.Signal(m.Signal))
		}
	case "resize":
		if p.Master != nil && m.Rows > 0 && m.Cols > 0 {
			_ = proc.Resize(p.Master, m.Rows, m.Cols)
		}
	}
}
