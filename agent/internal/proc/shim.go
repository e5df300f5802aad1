package proc

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// OrphansComm is a shim's process name once its exec's program has ended (only orphans are left).
const OrphansComm = "shim-orphans"

// ShimMain is the per-exec shim: `sandbox-agent shim <path> <argv...>`, started by Spawn in the exec's own
// session with its identity, directory, environment and stdio already applied. It becomes a child subreaper,
// starts the program in its own process group (the terminal's foreground group with a PTY), reports on fd 3
// "p <pid>" (or "e <errno>" and exit 127), releases its stdio, reaps every descendant, reports "x <status>"
// when the program ends, and exits once no descendant is left.
func ShimMain(args []string) int {
	runtime.GOMAXPROCS(1)
	status := os.NewFile(3, "status")
	if len(args) < 2 || status == nil {
		return 127
	}
	syscall.CloseOnExec(3)
	_ = SetSubreaper()
	tty := isTTY(0)
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0},
	}
	pid, err := syscall.ForkExec(args[0], args[1:], attr)
	if err != nil {
		en, _ := err.(syscall.Errno)
		_, _ = status.WriteString("e " + strconv.Itoa(int(en)) + "\n")
		return 127
	}
	_, _ = status.WriteString("p " + strconv.Itoa(pid) + "\n")
	releaseStdio()
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0
		}
		if wpid == pid {
			_, _ = status.WriteString("x " + strconv.FormatUint(uint64(ws), 10) + "\n")
			// The program ended; what the shim still waits for are its orphans. Tell the census (which does not
			// count such a shim as a running exec) through the process name.
			_ = os.WriteFile("/proc/self/comm", []byte(OrphansComm), 0)
		}
	}
}

// releaseStdio points fds 0-2 at /dev/null, so the exec's output ends when its programs close theirs.
func releaseStdio() {
	null, err := syscall.Open("/dev/null", syscall.O_RDWR, 0)
	for fd := 0; fd < 3; fd++ {
		if err == nil {
			_ = syscall.Dup3(null, fd, 0)
		} else {
			_ = syscall.Close(fd)
		}
	}
	if err == nil && null > 2 {
		_ = syscall.Close(null)
	}
}
