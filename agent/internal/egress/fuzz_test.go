package egress

import (
	"bytes"
	"testing"
)

// The parsers read bytes the sandbox controls (and, for answers, upstream servers): none may panic or loop.

func FuzzReadClientHello(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0})
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 200, 22, 3, 1, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = readClientHello(bytes.NewReader(b))
	})
}

func FuzzReadRequestHead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = readRequestHead(bytes.NewReader(b))
	})
}

func FuzzDNS(f *testing.F) {
	f.Add(buildQuery(1, "a.test", typeA))
	f.Add([]byte{0, 1, 0x81, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := parseQuery(b); err == nil {
			_ = answerWith(b, q, rcodeNXDomain)
		}
		_ = errorReply(b)
		_, _ = answerAddrs(b, typeA)
		_, _ = answerAddrs(b, typeAAAA)
	})
}
