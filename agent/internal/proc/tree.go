package proc

import (
	"os"
	"strconv"
	"syscall"
)

// SignalTree signals every descendant of root (root itself excluded) without forking: each pass reads /proc and
// SIGSTOPs descendants not yet stopped, until a pass finds none, so nothing can fork past the sweep; then every
// stopped process gets sig (and SIGCONT unless sig is SIGKILL). Returns the number of processes signalled.
func SignalTree(root int, sig syscall.Signal) int {
	stopped := map[int]bool{}
	for pass := 0; pass < 1000; pass++ {
		fresh := 0
		for pid := range descendants(root) {
			if !stopped[pid] {
				_ = syscall.Kill(pid, syscall.SIGSTOP)
				stopped[pid] = true
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
	}
	for pid := range stopped {
		_ = syscall.Kill(pid, sig)
		if sig != syscall.SIGKILL {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	return len(stopped)
}

// descendants returns the transitive children of root, from one read of /proc.
func descendants(root int) map[int]bool {
	children := map[int][]int{}
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if ppid, ok := readPPID(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := map[int]bool{}
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !out[c] && c != root {
				out[c] = true
				queue = append(queue, c)
			}
		}
	}
	return out
}

// readPPID parses the ppid from /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold ')').
func readPPID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := len(b) - 1
	for i >= 0 && b[i] != ')' {
		i--
	}
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
