package egress

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"
)

func TestMatcher(t *testing.T) {
	m, err := NewMatcher([]string{"Example.com.", "*.pypi.org"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"example.com": true, "EXAMPLE.COM.": true, "a.example.com": false, "pypi.org": false,
		"files.pypi.org": true, "a.b.pypi.org": true, "xpypi.org": false, "1.2.3.4": false, "": false,
	}
	for name, want := range cases {
		if got := m.Match(name); got != want {
			t.Errorf("Match(%q) = %v, want %v", name, got, want)
		}
	}
	all, _ := NewMatcher([]string{"*"})
	if !all.Match("anything.test") || !all.Match("1.2.3.4") || all.Match("bad name") {
		t.Error("'*' must match every valid name and IP literals, nothing else")
	}
	for _, bad := range []string{"a..b", "-a.com", "a.123", "*.*.com", "ex ample.com", strings.Repeat("a", 64) + ".com"} {
		if _, err := NewMatcher([]string{bad}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestPolicyDirect(t *testing.T) {
	c := &Config{Open: true, CIDRs: []string{"10.1.0.0/16"}, Fence: []string{"10.0.0.0/8", "fe80::/10"}}
	p, err := c.Policy()
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"10.1.2.3": true, "10.2.0.1": false, "8.8.8.8": true, "fe80::1": false} {
		if got := p.DirectAllowed(net.ParseIP(ip)); got != want {
			t.Errorf("DirectAllowed(%s) = %v, want %v", ip, got, want)
		}
	}
	if p.UpstreamAllowed(net.ParseIP("10.2.0.1")) || !p.UpstreamAllowed(net.ParseIP("10.1.0.9")) ||
		!p.UpstreamAllowed(net.ParseIP("8.8.8.8")) {
		t.Error("the proxy may reach the fence only where a CIDR allows it")
	}
	c.Open = false
	p, _ = c.Policy()
	if p.DirectAllowed(net.ParseIP("8.8.8.8")) || !p.DirectAllowed(net.ParseIP("10.1.0.1")) {
		t.Error("an allowlist must allow only its CIDRs")
	}
}

func TestParseConfigRejects(t *testing.T) {
	good := `{"mark":1,"dns_port":1,"http_port":2,"tls_port":3}`
	if _, err := ParseConfig([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"mark":0,"dns_port":1,"http_port":2,"tls_port":3}`,
		`{"mark":1,"dns_port":0,"http_port":2,"tls_port":3}`,
		`{"mark":1,"dns_port":1,"http_port":2,"tls_port":3,"cidrs":["10.0.0.0/33"]}`,
		`{"mark":1,"dns_port":1,"http_port":2,"tls_port":3,"domains":["a b"]}`,
		`{"mark":1,"dns_port":1,"http_port":2,"tls_port":3,"dns_upstream":["host:53"]}`,
		`{"mark":1,"dns_port":1,"http_port":2,"tls_port":3,"unknown":1}`,
		`not json`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// clientHello captures the first flight of a real TLS client asking for name.
func clientHello(t *testing.T, name string) []byte {
	a, b := net.Pipe()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_ = c.Handshake()
	}()
	var buf bytes.Buffer
	_ = b.SetReadDeadline(time.Now().Add(2 * time.Second))
	hdr := make([]byte, 5)
	if _, err := b.Read(hdr); err != nil {
		t.Fatal(err)
	}
	buf.Write(hdr)
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:5]))
	for off := 0; off < len(body); {
		n, err := b.Read(body[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += n
	}
	buf.Write(body)
	b.Close()
	return buf.Bytes()
}

func TestReadClientHello(t *testing.T) {
	hello := clientHello(t, "files.pythonhosted.org")
	raw, name, err := readClientHello(bytes.NewReader(append(hello, "rest"...)))
	if err != nil || name != "files.pythonhosted.org" || !bytes.Equal(raw, hello) {
		t.Fatalf("got %q, %v (raw %d of %d bytes)", name, err, len(raw), len(hello))
	}
	// The same hello split over two records, as a client may send it.
	body := hello[5:]
	split := append([]byte{22, 3, 1, 0, 10}, body[:10]...)
	rest := body[10:]
	split = append(split, 22, 3, 1, byte(len(rest)>>8), byte(len(rest)))
	split = append(split, rest...)
	if _, name, err := readClientHello(bytes.NewReader(split)); err != nil || name != "files.pythonhosted.org" {
		t.Fatalf("split hello: %q, %v", name, err)
	}
	for _, bad := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), hello[:40], {22, 3, 1, 0, 4, 2, 0, 0, 0}} {
		if _, _, err := readClientHello(bytes.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	noSNI := clientHello(t, "")
	if _, _, err := readClientHello(bytes.NewReader(noSNI)); err != errNoSNI {
		t.Errorf("hello without SNI: %v", err)
	}
}

func TestReadRequestHead(t *testing.T) {
	cases := map[string]string{
		"GET / HTTP/1.1\r\nHost: Example.com:8080\r\nX: y\r\n\r\nbody": "Example.com",
		"GET http://abs.test/x HTTP/1.0\r\n\r\n":                       "abs.test",
		"POST /x HTTP/1.1\r\nhost:[::1]:80\r\n\r\n":                    "::1",
	}
	for req, want := range cases {
		raw, host, err := readRequestHead(strings.NewReader(req))
		if err != nil || host != want || string(raw) != req {
			t.Errorf("%q: host %q err %v", req, host, err)
		}
	}
	for _, bad := range []string{"GET / HTTP/1.1\r\n\r\n", "\x16\x03\x01 junk\r\n\r\n", "GET / HTTP/1.1\r\nHost: a"} {
		if _, _, err := readRequestHead(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, _, err := readRequestHead(strings.NewReader("GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 20000))); err != errHeadTooBig {
		t.Errorf("huge head: %v", err)
	}
}

func TestDNSQueryAndAnswer(t *testing.T) {
	q := buildQuery(0x1234, "Files.PyPI.org.", typeAAAA)
	parsed, err := parseQuery(q)
	if err != nil || parsed.name != "files.pypi.org" || parsed.end != len(q) {
		t.Fatalf("parseQuery: %+v %v", parsed, err)
	}
	nx := answerWith(q, parsed, rcodeNXDomain)
	if nx[0] != 0x12 || nx[1] != 0x34 || nx[2]&0x80 == 0 || nx[3]&0xf != rcodeNXDomain || !bytes.Equal(nx[12:], q[12:]) {
		t.Fatalf("NXDOMAIN reply malformed: %x", nx)
	}
	// A reply with a CNAME (compressed name) then an AAAA record.
	reply := append([]byte(nil), q...)
	reply[2], reply[7] = 0x81, 2
	reply = append(reply, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12)
	reply = append(reply, 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16)
	reply = append(reply, net.ParseIP("2001:db8::7")...)
	ips, err := answerAddrs(reply, typeAAAA)
	if err != nil || len(ips) != 1 || !ips[0].Equal(net.ParseIP("2001:db8::7")) {
		t.Fatalf("answerAddrs: %v %v", ips, err)
	}
	if _, err := answerAddrs(nx, typeA); err == nil {
		t.Error("NXDOMAIN must be an error")
	}
	for _, bad := range [][]byte{q[:11], append(append([]byte(nil), q[:12]...), 0xc0, 12, 0, 1, 0, 1)} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery accepted %x", bad)
		}
	}
	resp := append([]byte(nil), q...)
	resp[2] |= 0x80
	if _, err := parseQuery(resp); err == nil {
		t.Error("a response is not a query")
	}
}

func TestRuleSummaryVerify(t *testing.T) {
	text := "*filter\n:SANDBOX-OUT - [0:0]\n-A OUTPUT -j SANDBOX-OUT\n-A SANDBOX-OUT -o lo -j ACCEPT\n" +
		"-A SANDBOX-OUT -j REJECT\nCOMMIT\n*nat\n:SANDBOX-NAT - [0:0]\n-I OUTPUT 1 -j SANDBOX-NAT\nCOMMIT\n"
	dump := "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:SANDBOX-OUT - [0:0]\n-A OUTPUT -j SANDBOX-OUT\n" +
		"-A SANDBOX-OUT -o lo -j ACCEPT\n-A SANDBOX-OUT -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n" +
		"*nat\n:OUTPUT ACCEPT [0:0]\n:SANDBOX-NAT - [0:0]\n-A OUTPUT -j SANDBOX-NAT\n-A OUTPUT -j DOCKER_OUTPUT\nCOMMIT\n"
	if err := verify(summarize(text), summarize(dump)); err != nil {
		t.Fatal(err)
	}
	missing := strings.Replace(dump, "-A SANDBOX-OUT -o lo -j ACCEPT\n", "", 1)
	if err := verify(summarize(text), summarize(missing)); err == nil {
		t.Error("a missing rule passed")
	}
	twice := strings.Replace(dump, "-A OUTPUT -j SANDBOX-OUT\n", "-A OUTPUT -j SANDBOX-OUT\n-A OUTPUT -j SANDBOX-OUT\n", 1)
	if err := verify(summarize(text), summarize(twice)); err == nil {
		t.Error("a doubled jump passed")
	}
	if got := withoutJumps(text); strings.Contains(got, "-j SANDBOX-OUT\n-A SANDBOX-OUT") || strings.Contains(got, "OUTPUT 1") {
		t.Errorf("withoutJumps kept a jump:\n%s", got)
	}
}

func TestRedirected(t *testing.T) {
	c := &Config{CIDRs: []string{"192.0.2.0/24"}, Domains: []string{"a.test"}}
	p, _ := c.Policy()
	s := func(ip string, port uint16) inetSock { return inetSock{dst: net.ParseIP(ip), dport: port} }
	if !redirected(p, s("198.51.100.1", 443)) || !redirected(p, s("198.51.100.1", 53)) {
		t.Error("443 and 53 outside the CIDRs go through the helper")
	}
	if redirected(p, s("192.0.2.9", 443)) || redirected(p, s("198.51.100.1", 22)) {
		t.Error("allowed CIDRs and other ports go direct")
	}
	c.Domains = nil
	p, _ = c.Policy()
	if redirected(p, s("198.51.100.1", 443)) {
		t.Error("without domains nothing is proxied")
	}
}
