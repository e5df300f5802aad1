package proc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A marked process whose child cleared its environment and made its own session: both die, nothing else does.
func TestSignalMarkedKillsTheMarkedTreeOnly(t *testing.T) {
	marker := "SANDBOX_CORE_EXEC=test-" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("sh", "-c", "env -i setsid sleep 1001 & sleep 1000")
	cmd.Env = append(os.Environ(), marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bystander := exec.Command("sleep", "1002")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	defer bystander.Process.Kill()
	time.Sleep(200 * time.Millisecond) // let sh start its children
	n, left := SignalMarked([]byte(marker), syscall.SIGKILL, 2*time.Second)
	_ = cmd.Wait()
	if n < 3 || left != 0 {
		t.Fatalf("signalled %d (want sh, sleep and the env -i child), %d left", n, left)
	}
	if !alive(bystander.Process.Pid) {
		t.Fatal("a process without the marker was killed")
	}
	if n, _ := SignalMarked([]byte(marker), syscall.SIGKILL, 0); n != 0 {
		t.Fatalf("a second kill found %d processes", n)
	}
}

func TestHasEnvMatchesWholeEntriesOnly(t *testing.T) {
	pid := os.Getpid()
	os.Setenv("SBX_TEST_MARK", "abc")
	// the environ file is the initial environment: a Setenv is not in it, so use one that is
	if hasEnv(pid, []byte("SBX_TEST_MARK=ab")) {
		t.Fatal("a prefix matched")
	}
	path := os.Getenv("PATH")
	if path != "" && !hasEnv(pid, []byte("PATH="+path)) {
		t.Fatal("PATH not found in our own environ")
	}
}

// TestMain lets the test binary pose as an agent process: run as "sandbox-agent <role>", it just waits.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && (os.Args[1] == "shim" || os.Args[1] == "serve") {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	if len(os.Args) == 3 && os.Args[1] == "shim" && os.Args[2] == "orphans" { // a shim whose program ended
		_ = os.WriteFile("/proc/self/comm", []byte(OrphansComm), 0)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCensusCountsShimsAndPeersOfEverySession(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := TakeCensus()
	var started []*exec.Cmd
	for _, args := range [][]string{{"shim"}, {"shim"}, {"serve"}, {"shim", "orphans"}} {
		c := &exec.Cmd{Path: self, Args: append([]string{"sandbox-agent"}, args...)}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		started = append(started, c)
	}
	defer func() {
		for _, c := range started {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := TakeCensus()
		if c.Shims == before.Shims+2 && c.Peers == before.Peers+1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("census %+v, before %+v: want 2 more shims and 1 more peer", c, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A descendant that forks as fast as it can while the kill runs: nothing it made outlives the kill.
func TestSignalMarkedLeavesNothingOfAForkLoop(t *testing.T) {
	for round := 0; round < 10; round++ {
		tag := "1003." + strconv.Itoa(os.Getpid()) + strconv.Itoa(round)
		marker := "SANDBOX_CORE_EXEC=loop-" + tag
		cmd := exec.Command("sh", "-c", "env -i sh -c 'while :; do sleep "+tag+" & done' & sleep 1000")
		cmd.Env = append(os.Environ(), marker)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
		_, left := SignalMarked([]byte(marker), syscall.SIGKILL, 2*time.Second)
		_ = cmd.Wait()
		escaped := withArg(tag)
		for pid := range escaped {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if left != 0 || len(escaped) != 0 {
			t.Fatalf("round %d: %d signalled processes left, %d children escaped the kill", round, left, len(escaped))
		}
	}
}

// withArg returns the live processes with arg among their arguments.
func withArg(arg string) map[int]bool {
	found := map[int]bool{}
	s := readSnapshot()
	for _, pid := range s.pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && alive(pid) && bytes.Contains(b, []byte("\x00"+arg+"\x00")) {
			found[pid] = true
		}
	}
	return found
}
