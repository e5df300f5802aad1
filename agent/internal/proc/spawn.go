package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Spec is a fully resolved exec.
type Spec struct {
	Path string   // the executable, resolved against the child's PATH
	Argv []string // argv[0] first
	Env  []string
	Dir  string
	Cred *syscall.Credential // nil: the agent's own identity
	Pty  bool
	Rows uint16
	Cols uint16
}

// Process is a started exec: its shim, its main child, and the agent's ends of its stdio.
type Process struct {
	ShimPid  int
	ChildPid int
	Stdin    *os.File // pipe write end, or the PTY master
	Stdout   *os.File // pipe read end, or the PTY master
	Stderr   *os.File // nil with a PTY
	Master   *os.File // the PTY master, or nil
	done     chan struct{}
	shimDone chan struct{}
	code     int
}

// SpawnError is a failure to start the program; Kind is one of the error kinds of PROTOCOL.md.
type SpawnError struct {
	Kind  string
	Errno syscall.Errno
	Msg   string
}

func (e *SpawnError) Error() string { return e.Msg }

// KindOf maps an errno to an error kind.
func KindOf(err error) string {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return "Io"
	}
	switch en {
	case syscall.ENOENT:
		return "NotFound"
	case syscall.EACCES, syscall.EPERM:
		return "PermissionDenied"
	case syscall.ENOTDIR:
		return "NotDirectory"
	case syscall.EISDIR:
		return "IsDirectory"
	case syscall.EEXIST:
		return "AlreadyExists"
	case syscall.ENOTEMPTY:
		return "DirectoryNotEmpty"
	case syscall.ENOEXEC:
		return "ExecFormat"
	case syscall.EAGAIN:
		return "ResourceExhausted"
	case syscall.EFBIG:
		return "FileTooLarge"
	case syscall.ELOOP:
		return "TooManySymlinks"
	case syscall.EROFS:
		return "ReadOnlyFilesystem"
	}
	return "Io"
}

// Spawn starts spec under a shim (the binary at self, re-executed) and returns once the program runs or failed
// to start. The reaper owns the shim's status.
func Spawn(r *Reaper, self string, spec Spec) (*Process, error) {
	p := &Process{done: make(chan struct{}), shimDone: make(chan struct{})}
	var childIn, childOut, childErr *os.File
	var err error
	if spec.Pty {
		p.Master, childIn, err = OpenPty(spec.Rows, spec.Cols)
		if err != nil {
			return nil, &SpawnError{Kind: KindOf(err), Msg: "cannot open a pseudo-terminal: " + err.Error()}
		}
		childOut, childErr = childIn, childIn
		p.Stdin, p.Stdout = p.Master, p.Master
	} else {
		if childIn, p.Stdin, err = os.Pipe(); err == nil {
			if p.Stdout, childOut, err = os.Pipe(); err == nil {
				p.Stderr, childErr, err = os.Pipe()
			}
		}
		if err != nil {
			p.closeAll(childIn, childOut, childErr)
			return nil, &SpawnError{Kind: KindOf(err), Msg: "cannot make pipes: " + err.Error()}
		}
		growPipe(p.Stdout)
		growPipe(p.Stderr)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		p.closeAll(childIn, childOut, childErr)
		return nil, &SpawnError{Kind: KindOf(err), Msg: "cannot make a pipe: " + err.Error()}
	}
	attr := &syscall.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: []uintptr{childIn.Fd(), childOut.Fd(), childErr.Fd(), statusW.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: spec.Pty, Ctty: 0, Credential: spec.Cred},
	}
	args := append([]string{"sandbox-agent", "shim", spec.Path}, spec.Argv...)
	pid, shimStatus, err := r.Start(func() (int, error) { return syscall.ForkExec(self, args, attr) })
	childIn.Close()
	if !spec.Pty {
		childOut.Close()
		childErr.Close()
	}
	statusW.Close()
	if err != nil {
		statusR.Close()
		p.closeAll(nil, nil, nil)
		return nil, startError(err, spec)
	}
	p.ShimPid = pid
	br := bufio.NewReader(statusR)
	first, _ := br.ReadString('\n')
	if strings.HasPrefix(first, "p ") {
		p.ChildPid, _ = strconv.Atoi(strings.TrimSpace(first[2:]))
		go p.await(br, statusR, shimStatus)
		return p, nil
	}
	statusR.Close()
	ws := <-shimStatus
	p.closeAll(nil, nil, nil)
	if strings.HasPrefix(first, "e ") {
		n, _ := strconv.Atoi(strings.TrimSpace(first[2:]))
		return nil, startError(syscall.Errno(n), spec)
	}
	// The shim is a Go program: it dies before reporting when it cannot get threads or memory, which in a
	// container means the pids (or memory) limit is reached.
	return nil, &SpawnError{Kind: "ResourceExhausted", Msg: fmt.Sprintf(
		"the exec shim ended (code %d) before starting %s: the sandbox is probably at its process limit", ExitCode(ws), spec.Path)}
}

func startError(err error, spec Spec) error {
	var en syscall.Errno
	errors.As(err, &en)
	msg := fmt.Sprintf("cannot start %s: %v", spec.Path, err)
	// A working directory that cannot be entered fails the start with the same errnos as the program would:
	// name the directory, so that clients report it as such (sandbox_core/_execfail.py).
	if (en == syscall.ENOENT || en == syscall.ENOTDIR) && spec.Dir != "" {
		if st, serr := os.Stat(spec.Dir); serr != nil {
			msg = fmt.Sprintf("cannot enter working directory %s: %v", spec.Dir, serr)
		} else if !st.IsDir() {
			msg = fmt.Sprintf("cannot enter working directory %s: %v", spec.Dir, syscall.ENOTDIR)
		}
	}
	return &SpawnError{Kind: KindOf(err), Errno: en, Msg: msg}
}

func (p *Process) closeAll(extra ...*os.File) {
	for _, f := range append(extra, p.Stdin, p.Stdout, p.Stderr) {
		if f != nil {
			f.Close()
		}
	}
}

// await records the exit code: the shim reports the main child's status ("x <status>") as soon as it is reaped;
// a shim that ended without reporting (killed) gives its own status.
func (p *Process) await(br *bufio.Reader, statusR *os.File, shimStatus <-chan syscall.WaitStatus) {
	reported := false
	for {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, "x ") {
			if n, e := strconv.ParseUint(strings.TrimSpace(line[2:]), 10, 32); e == nil {
				p.code = ExitCode(syscall.WaitStatus(n))
				reported = true
				close(p.done)
			}
		}
		if err != nil {
			break
		}
	}
	statusR.Close()
	ws := <-shimStatus
	if !reported {
		p.code = ExitCode(ws)
		close(p.done)
	}
	close(p.shimDone)
}

// ShimDone is closed once the shim exited: every process it could attribute to the exec has ended.
func (p *Process) ShimDone() <-chan struct{} { return p.shimDone }

// Done is closed once the main program has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is valid after Done: the exit status or 128+signal.
func (p *Process) ExitCode() int { return p.code }

// Signal sends sig to the main program only (not after it exited).
func (p *Process) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	return syscall.Kill(p.ChildPid, sig)
}

// SignalTree sends sig to every process of the exec (the shim's descendants).
func (p *Process) SignalTree(sig syscall.Signal) int { return SignalTree(p.ShimPid, sig) }

// CloseStdin delivers EOF to the program: closes the pipe, or types the terminal's VEOF (twice after a partial
// line, whose first VEOF only flushes the line).
func (p *Process) CloseStdin(partialLine bool) {
	if p.Master == nil {
		p.Stdin.Close()
		return
	}
	c := eofChar(p.Master)
	if partialLine {
		_, _ = p.Master.Write([]byte{c, c})
	} else {
		_, _ = p.Master.Write([]byte{c})
	}
}

// Release closes the agent's ends of the stdio.
func (p *Process) Release() { p.closeAll() }

// LookPath resolves file against the PATH in env, as execvp would.
func LookPath(file string, env []string, dir string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[5:]
		}
	}
	denied := false
	for _, d := range strings.Split(path, ":") {
		if d == "" {
			d = "."
		}
		cand := d + "/" + file
		if !strings.HasPrefix(cand, "/") && dir != "" {
			cand = dir + "/" + cand
		}
		st, err := os.Stat(cand)
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 == 0 {
			denied = true
			continue
		}
		return cand, nil
	}
	if denied {
		return "", &SpawnError{Kind: "PermissionDenied", Errno: syscall.EACCES, Msg: file + ": permission denied"}
	}
	return "", &SpawnError{Kind: "NotFound", Errno: syscall.ENOENT, Msg: fmt.Sprintf("%s: executable file not found in $PATH", file)}
}

var _ io.Reader = (*os.File)(nil)

// growPipe raises a pipe's capacity to 1 MiB (best effort: the per-user pipe budget may refuse), so a bulk
// writer and the agent's pump trade fewer, larger reads.
func growPipe(f *os.File) { GrowPipe(f) }

// GrowPipe is growPipe for callers outside the package (the agent's own stdout).
func GrowPipe(f *os.File) {
	const fSetPipeSz = 1031
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 1<<20) })
	}
}
