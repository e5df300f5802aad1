package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// snapshot is one read of /proc: every visible pid and the children of each.
type snapshot struct {
	pids     []int
	children map[int][]int
}

func readSnapshot() *snapshot {
	s := &snapshot{children: map[int][]int{}}
	d, err := os.Open("/proc")
	if err != nil {
		return s
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ppid, ok := readPPID(pid); ok {
			s.pids = append(s.pids, pid)
			s.children[ppid] = append(s.children[ppid], pid)
		}
	}
	return s
}

// below returns the transitive children of roots (roots themselves excluded unless a root descends from another).
func (s *snapshot) below(roots map[int]bool) map[int]bool {
	out := map[int]bool{}
	queue := make([]int, 0, len(roots))
	for r := range roots {
		queue = append(queue, r)
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range s.children[p] {
			if !out[c] {
				out[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

// settleWait bounds how long stopAll waits for its SIGSTOPs to take effect before its last look.
const settleWait = 200 * time.Millisecond

// stopAll freezes, pass after pass, every process that pick selects from a fresh snapshot, until a pass finds
// none it has not stopped yet: a stopped process cannot fork, and its children keep it as their parent, so the
// set is complete when the passes end. A SIGSTOP takes effect asynchronously, and a fork already under way when it
// was sent may still complete (gVisor lets it), so a pass that finds nothing new is believed only once every
// process of the set was seen stopped first. Never selects this process or PID 1.
func stopAll(pick func(*snapshot) map[int]bool) map[int]bool {
	stopped := map[int]bool{}
	self := os.Getpid()
	settled := false
	for pass := 0; pass < 1000; pass++ {
		fresh := 0
		for pid := range pick(readSnapshot()) {
			if pid != self && pid != 1 && !stopped[pid] {
				_ = syscall.Kill(pid, syscall.SIGSTOP)
				stopped[pid] = true
				fresh++
			}
		}
		if fresh == 0 && (settled || len(stopped) == 0) {
			break
		}
		settled = fresh == 0
		if settled {
			awaitStopped(stopped, settleWait)
		}
	}
	return stopped
}

// awaitStopped polls until every process of set is stopped, a zombie or gone, at most wait.
func awaitStopped(set map[int]bool, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		running := false
		for pid := range set {
			if s := state(pid); s != 0 && s != 'T' && s != 't' && s != 'Z' && s != 'X' {
				running = true
				break
			}
		}
		if !running || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// deliver sends sig to every process of set (then SIGCONT, unless sig is SIGKILL, so that stopped processes see it).
func deliver(set map[int]bool, sig syscall.Signal) {
	for pid := range set {
		_ = syscall.Kill(pid, sig)
		if sig != syscall.SIGKILL {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
}

// SignalTree signals every descendant of root (root itself excluded) without forking: each pass reads /proc and
// SIGSTOPs descendants not yet stopped, until a pass finds none, so nothing can fork past the sweep; then every
// stopped process gets sig (and SIGCONT unless sig is SIGKILL). Returns the number of processes signalled.
func SignalTree(root int, sig syscall.Signal) int {
	stopped := stopAll(func(s *snapshot) map[int]bool { return s.below(map[int]bool{root: true}) })
	deliver(stopped, sig)
	return len(stopped)
}

// SignalMarked signals every process whose environment holds the entry marker ("KEY=value", exactly) and every
// descendant of one, as SignalTree does: frozen first, then signalled. An exec's shim carries its exec's
// environment, so this reaches the exec's whole tree, also processes that cleared their own environment
// (`env -i`) or double-forked (they re-parent to the shim), and from any session: it needs no handle on the
// exec. With wait > 0 it then waits, at most that long, until every signalled process is gone (or a zombie).
// Returns how many were signalled and how many were still there when it stopped waiting.
func SignalMarked(marker []byte, sig syscall.Signal, wait time.Duration) (int, int) {
	stopped := stopAll(func(s *snapshot) map[int]bool {
		marked := map[int]bool{}
		for _, pid := range s.pids {
			if hasEnv(pid, marker) {
				marked[pid] = true
			}
		}
		for pid := range s.below(marked) {
			marked[pid] = true
		}
		return marked
	})
	deliver(stopped, sig)
	return len(stopped), awaitGone(stopped, wait)
}

// awaitGone polls until no process of set is alive (a zombie counts as gone), at most wait; returns how many are
// left.
func awaitGone(set map[int]bool, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for {
		left := 0
		for pid := range set {
			if alive(pid) {
				left++
			} else {
				delete(set, pid)
			}
		}
		if left == 0 || !time.Now().Before(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// alive is true while pid exists and is not a zombie.
func alive(pid int) bool {
	s := state(pid)
	return s != 0 && s != 'Z' && s != 'X'
}

// state is the state letter of /proc/<pid>/stat ('R', 'S', 'T', 'Z' …), 0 when pid is gone, '?' when unreadable.
func state(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return '?'
	}
	return b[i+2]
}

// hasEnv is true when /proc/<pid>/environ holds entry exactly (processes we may not inspect are skipped).
func hasEnv(pid int, entry []byte) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return bytes.Equal(b, entry)
		}
		if bytes.Equal(b[:i], entry) {
			return true
		}
		b = b[i+1:]
	}
	return false
}

// readPPID parses the ppid from /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold ')').
func readPPID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	// after ") S " comes the ppid
	j := i + 4
	if i < 0 || j >= len(b) {
		return 0, false
	}
	k := j
	for k < len(b) && b[k] >= '0' && b[k] <= '9' {
		k++
	}
	ppid, err := strconv.Atoi(string(b[j:k]))
	return ppid, err == nil
}
