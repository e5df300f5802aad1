// Package proc starts, reaps, signals and kills the processes of execs.
//
// One reaper (wait4(-1) on SIGCHLD) owns every child of the agent and dispatches exit statuses by pid, so no
// second wait can steal a status. Each exec runs under a per-exec shim (this binary, re-executed) that is a
// child subreaper: double-forked daemons re-parent to it and stay attributable to their exec.
package proc

import (
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

const prSetChildSubreaper = 36

// SetSubreaper makes the calling process a child subreaper.
func SetSubreaper() error {
	_, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if e != 0 {
		return e
	}
	return nil
}

// PrestartThreads makes the runtime create n OS threads now, while the pids limit still allows it; idle threads
// stay parked in the runtime, so later blocking syscalls need no new thread.
func PrestartThreads(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			wg.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	wg.Wait()
	close(release)
}

// Reaper reaps every child of this process and hands registered children's statuses to their waiters.
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]chan syscall.WaitStatus
	live    int64
}

// NewReaper starts the reaper goroutine.
func NewReaper() *Reaper {
	r := &Reaper{waiters: map[int]chan syscall.WaitStatus{}}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGCHLD)
	go func() {
		for {
			r.reapAll()
			<-sig
		}
	}()
	return r
}

func (r *Reaper) reapAll() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		if c, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			atomic.AddInt64(&r.live, -1)
			c <- ws
		}
		r.mu.Unlock()
	}
}

// Start runs fork under the reaper's lock and registers the new pid, so its status cannot be reaped unseen.
func (r *Reaper) Start(fork func() (int, error)) (int, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	if err != nil {
		return 0, nil, err
	}
	c := make(chan syscall.WaitStatus, 1)
	r.waiters[pid] = c
	atomic.AddInt64(&r.live, 1)
	return pid, c, nil
}

// Live is the number of registered children not yet reaped.
func (r *Reaper) Live() int { return int(atomic.LoadInt64(&r.live)) }

// ExitCode maps a wait status to a shell-style code: the exit status, or 128+signal.
func ExitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
