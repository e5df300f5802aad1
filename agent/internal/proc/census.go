package proc

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// Census is what one read of /proc tells about every agent in the sandbox, whichever session started it.
type Census struct {
	// Shims is the number of execs (of any session) whose program still runs: their shim is alive and has not
	// renamed itself OrphansComm (which it does when the program ends, whatever it left running).
	Shims int
	// Peers is the number of other serving agents (sessions other than this one; monitors excluded).
	Peers int
	// PeerIO is the sum of the bytes the peers read and wrote (rchar + wchar): it changes whenever a session
	// carries anything (an exec starting or ending, output, input, a file operation), and only then.
	PeerIO uint64
}

// TakeCensus reads /proc. Processes this agent may not inspect (another user's) count as far as their
// world-readable command line tells: their I/O is not readable, so only their number counts.
func TakeCensus() Census {
	var c Census
	self := os.Getpid()
	d, err := os.Open("/proc")
	if err != nil {
		return c
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		switch agentRole(pid) {
		case "shim":
			if alive(pid) && !orphansOnly(pid) {
				c.Shims++
			}
		case "serve":
			c.Peers++
			c.PeerIO += readIO(pid)
		}
	}
	return c
}

// orphansOnly is true for a shim whose program has ended.
func orphansOnly(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return err == nil && string(bytes.TrimSpace(b)) == OrphansComm
}

// agentRole is argv[1] of an agent process ("serve", "shim", "monitor"), or "" for any other process.
func agentRole(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	args := bytes.SplitN(b, []byte{0}, 3)
	if len(args) < 2 || filepath.Base(string(args[0])) != "sandbox-agent" {
		return ""
	}
	return string(args[1])
}

// readIO is rchar + wchar of /proc/<pid>/io (0 when it cannot be read).
func readIO(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0
	}
	var total uint64
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if bytes.HasPrefix(line, []byte("rchar: ")) || bytes.HasPrefix(line, []byte("wchar: ")) {
			if v, err := strconv.ParseUint(string(bytes.TrimSpace(line[7:])), 10, 64); err == nil {
				total += v
			}
		}
	}
	return total
}
