package egress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
)

const (
	maxHello      = 64 << 10 // a ClientHello larger than this is refused
	maxRecord     = 16384 + 2048
	maxHeaderHead = 64 << 10 // an HTTP request head larger than this is refused
)

var (
	errNoSNI      = errors.New("TLS ClientHello without a server name")
	errNotHello   = errors.New("not a TLS ClientHello")
	errNoHost     = errors.New("HTTP request without a Host")
	errHeadTooBig = errors.New("HTTP request head too large")
)

// readClientHello reads TLS records from r until one whole ClientHello is buffered. It returns every byte
// read (to be replayed upstream) and the server name the client asked for.
func readClientHello(r io.Reader) ([]byte, string, error) {
	var raw, hs []byte
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return raw, "", err
		}
		n := int(binary.BigEndian.Uint16(hdr[3:5]))
		if hdr[0] != 22 || hdr[1] != 3 || n == 0 || n > maxRecord {
			return raw, "", errNotHello
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return raw, "", err
		}
		raw = append(append(raw, hdr[:]...), body...)
		hs = append(hs, body...)
		if len(hs) < 4 {
			continue
		}
		if hs[0] != 1 {
			return raw, "", errNotHello
		}
		msgLen := int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3])
		if msgLen > maxHello {
			return raw, "", errNotHello
		}
		if len(hs) >= 4+msgLen {
			name, err := helloServerName(hs[4 : 4+msgLen])
			return raw, name, err
		}
	}
}

// helloServerName finds the host_name entry of the server_name extension in a ClientHello body.
func helloServerName(b []byte) (string, error) {
	c := cursor{b: b}
	c.skip(2 + 32)      // legacy_version, random
	c.skip(int(c.u8())) // legacy_session_id
	c.skip(int(c.u16()))
	c.skip(int(c.u8())) // compression methods
	ext := cursor{b: c.take(int(c.u16()))}
	if c.bad {
		return "", errNotHello
	}
	for len(ext.b) > 0 && !ext.bad {
		typ, data := ext.u16(), ext.take(int(ext.u16()))
		if typ != 0 { // server_name
			continue
		}
		list := cursor{b: data}
		names := cursor{b: list.take(int(list.u16()))}
		for len(names.b) > 0 && !names.bad {
			kind, name := names.u8(), names.take(int(names.u16()))
			if kind == 0 && !names.bad {
				return string(name), nil
			}
		}
	}
	if ext.bad {
		return "", errNotHello
	}
	return "", errNoSNI
}

// cursor reads big-endian fields from a byte slice; any overrun sets bad and yields zeros.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) take(n int) []byte {
	if c.bad || n > len(c.b) {
		c.bad = true
		return nil
	}
	out := c.b[:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) skip(n int) { c.take(n) }

func (c *cursor) u8() uint8 {
	b := c.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (c *cursor) u16() uint16 {
	b := c.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

// readRequestHead reads an HTTP/1.x request head from r. It returns every byte read (the head and whatever
// followed it in the same reads) and the host named by the Host header or an absolute-form target.
func readRequestHead(r io.Reader) ([]byte, string, error) {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			host, herr := requestHost(string(buf[:i]))
			return buf, host, herr
		}
		if len(buf) > maxHeaderHead {
			return buf, "", errHeadTooBig
		}
		if err != nil {
			return buf, "", err
		}
	}
}

// requestHost extracts the host (without port) from a request head.
func requestHost(head string) (string, error) {
	lines := strings.Split(head, "\r\n")
	parts := strings.Fields(lines[0])
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return "", errNoHost
	}
	for _, line := range lines[1:] {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), "host") {
			return stripPort(strings.TrimSpace(v))
		}
	}
	if strings.HasPrefix(parts[1], "http://") {
		hostport, _, _ := strings.Cut(strings.TrimPrefix(parts[1], "http://"), "/")
		return stripPort(hostport)
	}
	return "", errNoHost
}

func stripPort(hostport string) (string, error) {
	if hostport == "" {
		return "", errNoHost
	}
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.Trim(host, "[]"), nil
	}
	return strings.Trim(hostport, "[]"), nil
}
