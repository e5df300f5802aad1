package egress

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ruleSummary is what a rules text (or a table dump) says about the chains it touches: per table, the rule
// count of each user chain and the jumps from built-in chains into user chains.
type ruleSummary struct {
	chains map[string]map[string]int // table -> user chain -> rules
	jumps  map[string]map[string]int // table -> "BUILTIN -j CHAIN" -> occurrences
}

var builtinChains = map[string]bool{
	"INPUT": true, "OUTPUT": true, "FORWARD": true, "PREROUTING": true, "POSTROUTING": true,
}

// summarize reads iptables-restore/iptables-save text. A chain declared with policy "-" is a user chain.
func summarize(text string) ruleSummary {
	s := ruleSummary{chains: map[string]map[string]int{}, jumps: map[string]map[string]int{}}
	table := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			if s.chains[table] == nil {
				s.chains[table] = map[string]int{}
				s.jumps[table] = map[string]int{}
			}
		case strings.HasPrefix(line, ":") && table != "":
			f := strings.Fields(line[1:])
			if len(f) >= 2 && f[1] == "-" {
				s.chains[table][f[0]] += 0
			}
		case (strings.HasPrefix(line, "-A ") || strings.HasPrefix(line, "-I ")) && table != "":
			f := strings.Fields(line)
			chain := f[1]
			if builtinChains[chain] {
				for i := 2; i+1 < len(f); i++ {
					if f[i] == "-j" {
						s.jumps[table][chain+" -j "+f[i+1]]++
					}
				}
			} else {
				s.chains[table][chain]++
			}
		}
	}
	return s
}

// verify checks that the dump holds every user chain of want with the same rule count, and every jump
// into a user chain of want exactly once.
func verify(want, dump ruleSummary) error {
	for table, chains := range want.chains {
		for chain, n := range chains {
			got, ok := dump.chains[table][chain]
			if !ok {
				return fmt.Errorf("read back: chain %s/%s missing", table, chain)
			}
			if got != n {
				return fmt.Errorf("read back: chain %s/%s has %d rules, want %d", table, chain, got, n)
			}
		}
	}
	for table, jumps := range want.jumps {
		for jump := range jumps {
			target := jump[strings.LastIndex(jump, " ")+1:]
			if _, ours := want.chains[table][target]; !ours {
				continue
			}
			if got := dump.jumps[table][jump]; got != 1 {
				return fmt.Errorf("read back: %s/%s present %d times, want once", table, jump, got)
			}
		}
	}
	return nil
}

// applyRules feeds text to iptables-restore (ip6tables-restore if v6) with --noflush, then reads each table
// the text touches back and verifies it.
func applyRules(text string, v6 bool) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	restore, save := "iptables-restore", "iptables-save"
	if v6 {
		restore, save = "ip6tables-restore", "ip6tables-save"
	}
	cmd := exec.Command(restore, "--noflush")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", restore, err, strings.TrimSpace(string(out)))
	}
	dump, err := exec.Command(save).Output()
	if err != nil {
		return fmt.Errorf("%s: %v", save, err)
	}
	return verify(summarize(text), summarize(string(dump)))
}

// withoutJumps drops the lines of a rules text that add jumps from built-in chains, so that the text can be
// applied again to tables that already have them.
func withoutJumps(text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "-A" || f[0] == "-I") && builtinChains[f[1]] {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// hasIPv6 reports whether the kernel has IPv6 at all (ip6tables cannot work without it).
func hasIPv6() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}

// applyConfigRules installs both families' rules of c (at once), IPv6 only where the kernel has IPv6.
func applyConfigRules(c *Config) error {
	v6 := make(chan error, 1)
	go func() {
		if hasIPv6() {
			v6 <- applyRules(c.RulesV6, true)
		} else {
			v6 <- nil
		}
	}()
	err4 := applyRules(c.RulesV4, false)
	if err6 := <-v6; err4 == nil {
		return err6
	}
	return err4
}
