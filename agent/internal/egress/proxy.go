package egress

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	maxInFlight   = 1024 // proxied connections plus DNS queries at once; more are refused
	handshakeWait = 10 * time.Second
	dialWait      = 10 * time.Second
)

// state is what the proxy, the forwarder and the control handler share: the policy in force and the live
// proxied flows, so that a policy change can cut the ones it no longer allows.
type state struct {
	pol   atomic.Pointer[Policy]
	mu    sync.Mutex
	flows map[*flow]struct{}
	slots chan struct{}
}

func newState(p *Policy) *state {
	s := &state{flows: map[*flow]struct{}{}, slots: make(chan struct{}, maxInFlight)}
	s.pol.Store(p)
	return s
}

func (s *state) policy() *Policy { return s.pol.Load() }

func (s *state) acquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *state) release() { <-s.slots }

// flow is one proxied connection: the sandbox's side and ours to the upstream server.
type flow struct {
	name             string
	client, upstream net.Conn
}

// cut closes both sides, resetting the sandbox's side so that its program sees the connection fail.
func (f *flow) cut() {
	if tc, ok := f.client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	f.client.Close()
	f.upstream.Close()
}

// setPolicy puts p in force and cuts the proxied flows whose name p no longer allows; returns how many.
func (s *state) setPolicy(p *Policy) int {
	s.pol.Store(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := 0
	for f := range s.flows {
		if !p.NameAllowed(f.name) {
			f.cut()
			delete(s.flows, f)
			cut++
		}
	}
	return cut
}

// track registers f; it returns false (and cuts f) if the policy in force no longer allows it.
func (s *state) track(f *flow) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.policy().NameAllowed(f.name) {
		f.cut()
		return false
	}
	s.flows[f] = struct{}{}
	return true
}

func (s *state) untrack(f *flow) {
	s.mu.Lock()
	delete(s.flows, f)
	s.mu.Unlock()
}

// markControl sets SO_MARK on a socket before it connects, which needs CAP_NET_ADMIN.
func markControl(mark uint32) func(string, string, syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, int(mark))
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("set SO_MARK: %w", serr)
		}
		return nil
	}
}

// proxy serves the sandbox's redirected HTTP (port 80, by Host) and TLS (port 443, by SNI) connections.
type proxy struct {
	state  *state
	fwd    *forwarder
	dialer *net.Dialer
}

// serve accepts on ln until it is closed; tls selects SNI (upstream port 443) over Host (port 80).
func (p *proxy) serve(ln net.Listener, tls bool) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !p.state.acquire() {
			c.Close()
			continue
		}
		go func() {
			defer p.state.release()
			p.handle(c, tls)
		}()
	}
}

func (p *proxy) handle(c net.Conn, tls bool) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(handshakeWait))
	var raw []byte
	var name string
	var err error
	port := "80"
	if tls {
		port = "443"
		raw, name, err = readClientHello(c)
	} else {
		raw, name, err = readRequestHead(c)
	}
	if err != nil {
		refuse(c, tls, 400, fmt.Sprintf("cannot tell where this connection goes: %v", err))
		return
	}
	if !p.state.policy().NameAllowed(name) {
		log.Printf("proxy: refused %s:%s", name, port)
		refuse(c, tls, 403, fmt.Sprintf("%s is not in the sandbox's outbound allowlist", name))
		return
	}
	up, err := p.dial(name, port)
	var fenced *fencedError
	if errors.As(err, &fenced) {
		log.Printf("proxy: refused %s:%s: %v", name, port, err)
		refuse(c, tls, 403, err.Error())
		return
	}
	if err != nil {
		log.Printf("proxy: %s:%s unreachable: %v", name, port, err)
		refuse(c, tls, 502, fmt.Sprintf("%s:%s is unreachable: %v", name, port, err))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	f := &flow{name: name, client: c, upstream: up}
	if !p.state.track(f) {
		return
	}
	defer p.state.untrack(f)
	if _, err := up.Write(raw); err != nil {
		f.cut()
		return
	}
	pipe(c, up)
}

// fencedError says that every address of a name lies in the fence.
type fencedError struct {
	name string
	ip   net.IP
}

func (e *fencedError) Error() string {
	return fmt.Sprintf("%s resolves to %s, a host or private address the sandbox is fenced off from "+
		"(allowlist its CIDR to reach it)", e.name, e.ip)
}

// dial connects to name:port from a marked socket, trying each resolved address outside the fence in turn.
func (p *proxy) dial(name, port string) (net.Conn, error) {
	var ips []net.IP
	if ip := net.ParseIP(name); ip != nil {
		ips = []net.IP{ip}
	} else {
		var err error
		if ips, err = p.fwd.lookup(name); err != nil {
			return nil, err
		}
	}
	var lastErr error
	pol := p.state.policy()
	for _, ip := range ips {
		if !pol.UpstreamAllowed(ip) {
			if lastErr == nil {
				lastErr = &fencedError{name, ip}
			}
			continue
		}
		c, err := p.dialer.Dial("tcp", net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// refuse tells the sandbox's program why: an HTTP status, or a TLS access_denied alert.
func refuse(c net.Conn, tls bool, status int, why string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if tls {
		alert := byte(49) // access_denied
		if status != 403 {
			alert = 80 // internal_error
		}
		_, _ = c.Write([]byte{21, 3, 3, 0, 2, 2, alert})
		return
	}
	body := "sandbox-core egress: " + why + "\n"
	text := map[int]string{400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
	_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: %s\r\n\r\n%s",
		status, text, strconv.Itoa(len(body)), body)
}

// pipe copies both ways until both directions ended, passing half-closes on; an error in either
// direction closes both connections.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err != nil {
			a.Close()
			b.Close()
		} else if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
	b.Close()
}
