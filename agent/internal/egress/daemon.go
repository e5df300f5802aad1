package egress

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ControlSocket is where a running helper takes policy changes. It is a path in the holder's own mount
// namespace, which the sandbox does not share (an abstract socket would be reachable from the shared netns).
const ControlSocket = "/run/sandbox-egress/control.sock"

// ReadyLine is printed on stdout once the rules are verified and every listener is up.
const ReadyLine = "sandbox-egress: ready"

// Result is the control channel's answer to a policy change.
type Result struct {
	OK         bool   `json:"ok"`
	Error      string `json:"error,omitempty"`
	FlowsCut   int    `json:"flows_cut"`
	SocketsCut int    `json:"sockets_cut"`
}

// daemon is the running helper: the config in force and everything serving it.
type daemon struct {
	mu    sync.Mutex // serialises policy changes
	cfg   *Config
	state *state
}

// Run installs cfg's rules, starts the DNS forwarder, the proxy and the control socket, prints ReadyLine and
// serves until SIGTERM. Any failure before ReadyLine is returned (the holder exits non-zero, nothing listens).
func Run(cfg *Config, stdout io.Writer) error {
	pol, err := cfg.Policy()
	if err != nil {
		return err
	}
	upstream, err := upstreams(cfg.Upstream)
	if err != nil {
		return err
	}
	if err := applyConfigRules(cfg); err != nil {
		return err
	}
	d := &daemon{cfg: cfg, state: newState(pol)}
	mark := markControl(cfg.Mark)
	fwd := &forwarder{state: d.state, upstream: upstream, dialer: &net.Dialer{Timeout: upstreamWait, Control: mark}}
	px := &proxy{state: d.state, fwd: fwd, dialer: &net.Dialer{Timeout: dialWait, Control: mark}}
	if err := d.listen(fwd, px); err != nil {
		return err
	}
	ctl, err := listenControl()
	if err != nil {
		return err
	}
	go d.serveControl(ctl)
	if _, err := fmt.Fprintln(stdout, ReadyLine); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}

// listen opens the forwarder's and the proxy's loopback listeners: IPv4 always, IPv6 where ::1 exists.
func (d *daemon) listen(fwd *forwarder, px *proxy) error {
	for _, host := range []string{"127.0.0.1", "::1"} {
		v6 := host == "::1"
		addr := func(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
		pc, err := net.ListenPacket("udp", addr(d.cfg.DNSPort))
		if err != nil {
			if v6 {
				continue // no IPv6 in this namespace: nothing can be sent over it either
			}
			return fmt.Errorf("listen: %w", err)
		}
		go fwd.serveUDP(pc)
		for _, l := range []struct {
			port  int
			serve func(net.Listener)
		}{
			{d.cfg.DNSPort, fwd.serveTCP},
			{d.cfg.HTTPPort, func(ln net.Listener) { px.serve(ln, false) }},
			{d.cfg.TLSPort, func(ln net.Listener) { px.serve(ln, true) }},
		} {
			ln, err := net.Listen("tcp", addr(l.port))
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			go l.serve(ln)
		}
	}
	return nil
}

// upstreams returns the configured DNS servers, or the nameservers of /etc/resolv.conf read now (before any
// sandbox shares the file).
func upstreams(configured []string) ([]string, error) {
	var out []string
	if len(configured) == 0 {
		f, err := os.Open("/etc/resolv.conf")
		if err != nil {
			return nil, nil // no resolver: every allowed name gets SERVFAIL
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "nameserver" {
				configured = append(configured, fields[1])
			}
		}
	}
	for _, u := range configured {
		a, err := upstreamAddr(u)
		if err != nil {
			return nil, err
		}
		// A loopback resolver lives in the sandbox's own namespace: the engine's 127.0.0.11 on a user-defined
		// network (which forwards from inside the namespace, into these very rules) or something the sandbox
		// could bind itself.
		if host, _, _ := net.SplitHostPort(a); net.ParseIP(host).IsLoopback() {
			return nil, fmt.Errorf("DNS upstream %s is a loopback address in the sandbox's namespace; "+
				"give the helper a resolver outside it (dns_upstream)", host)
		}
		out = append(out, a)
	}
	return out, nil
}

func listenControl() (net.Listener, error) {
	dir := ControlSocket[:strings.LastIndex(ControlSocket, "/")]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	_ = os.Remove(ControlSocket)
	return net.Listen("unix", ControlSocket)
}

func (d *daemon) serveControl(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go func() {
			defer c.Close()
			raw, err := io.ReadAll(io.LimitReader(c, 16<<20))
			res := Result{}
			if err == nil {
				res = d.replace(raw)
			} else {
				res.Error = err.Error()
			}
			_ = json.NewEncoder(c).Encode(res)
		}()
	}
}

// replace puts a new config in force: rules first (so nothing new gets through), then the proxy's and the
// forwarder's policy (cutting proxied flows it no longer allows), then direct connections it no longer allows.
// If the rules fail, the previous rules are put back and the error is reported.
func (d *daemon) replace(raw []byte) Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	next, err := ParseConfig(raw)
	if err != nil {
		return Result{Error: err.Error()}
	}
	if next.Mark != d.cfg.Mark || next.DNSPort != d.cfg.DNSPort || next.HTTPPort != d.cfg.HTTPPort ||
		next.TLSPort != d.cfg.TLSPort {
		return Result{Error: "a policy change cannot change the mark or the ports"}
	}
	pol, _ := next.Policy()
	old := d.state.policy()
	if err := applyConfigRules(next); err != nil {
		prev := *d.cfg
		prev.RulesV4, prev.RulesV6 = withoutJumps(prev.RulesV4), withoutJumps(prev.RulesV6)
		if rerr := applyConfigRules(&prev); rerr != nil {
			log.Printf("control: restoring the previous rules failed too: %v", rerr)
		}
		return Result{Error: err.Error()}
	}
	d.cfg = next
	res := Result{OK: true, FlowsCut: d.state.setPolicy(pol)}
	n, err := cutDirect(old, pol, next.Mark)
	res.SocketsCut = n
	if err != nil {
		res.OK, res.Error = false, "rules replaced, but cutting open connections failed: "+err.Error()
	}
	return res
}

// Replace sends raw (a Config as JSON) to the running helper's control socket and returns its answer.
func Replace(raw []byte) (Result, error) {
	c, err := net.Dial("unix", ControlSocket)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		return Result{}, err
	}
	_ = c.(*net.UnixConn).CloseWrite()
	var res Result
	if err := json.NewDecoder(c).Decode(&res); err != nil {
		return Result{}, fmt.Errorf("control socket: %w", err)
	}
	return res, nil
}
