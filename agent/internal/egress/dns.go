package egress

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"time"
)

const (
	dnsHeaderLen   = 12
	rcodeFormErr   = 1
	rcodeServFail  = 2
	rcodeNXDomain  = 3
	upstreamWait   = 5 * time.Second
	tcpIdleTimeout = 10 * time.Second
)

var errNotQuery = errors.New("not a standard query with one question")

// question is the parsed question of a DNS query; end is the offset just past it.
type question struct {
	name string
	end  int
}

// parseQuery checks that msg is a standard query with exactly one uncompressed question and returns it.
func parseQuery(msg []byte) (question, error) {
	if len(msg) < dnsHeaderLen {
		return question{}, errNotQuery
	}
	flags := binary.BigEndian.Uint16(msg[2:4])
	qr, opcode := flags>>15, (flags>>11)&0xf
	if qr != 0 || opcode != 0 || binary.BigEndian.Uint16(msg[4:6]) != 1 {
		return question{}, errNotQuery
	}
	var labels []string
	off := dnsHeaderLen
	for {
		if off >= len(msg) {
			return question{}, errNotQuery
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return question{}, errNotQuery // compression pointers and oversized labels have no place here
		}
		labels = append(labels, string(msg[off:off+n]))
		off += n
	}
	if off+4 > len(msg) {
		return question{}, errNotQuery
	}
	return question{name: strings.Join(labels, "."), end: off + 4}, nil
}

// answerWith builds a reply to query (already parsed) with rcode and no records.
func answerWith(query []byte, q question, rcode uint16) []byte {
	out := make([]byte, q.end)
	copy(out, query[:q.end])
	flags := binary.BigEndian.Uint16(query[2:4])
	flags = 1<<15 | flags&(0xf<<11) | flags&(1<<8) | 1<<7 | rcode // QR, opcode, RD, RA, rcode
	binary.BigEndian.PutUint16(out[2:4], flags)
	binary.BigEndian.PutUint16(out[4:6], 1)
	for i := 6; i < 12; i++ {
		out[i] = 0
	}
	return out
}

// errorReply answers a message that is not a query we accept: FORMERR echoing the id, or nothing if too short.
func errorReply(msg []byte) []byte {
	if len(msg) < dnsHeaderLen {
		return nil
	}
	out := make([]byte, dnsHeaderLen)
	copy(out, msg[:2])
	binary.BigEndian.PutUint16(out[2:4], 1<<15|rcodeFormErr)
	return out
}

// forwarder answers DNS for the sandbox: allowed names go to the upstream servers, others get NXDOMAIN.
type forwarder struct {
	state    *state
	upstream []string
	dialer   *net.Dialer
}

// resolve returns the reply for one query message (UDP or TCP payload).
func (f *forwarder) resolve(msg []byte, tcp bool) []byte {
	q, err := parseQuery(msg)
	if err != nil {
		return errorReply(msg)
	}
	if !f.state.policy().NameAllowed(q.name) {
		log.Printf("dns: refused %q", q.name)
		return answerWith(msg, q, rcodeNXDomain)
	}
	for _, up := range f.upstream {
		var reply []byte
		if tcp {
			reply, err = f.exchangeTCP(up, msg)
		} else {
			reply, err = f.exchangeUDP(up, msg)
		}
		if err == nil && len(reply) >= dnsHeaderLen && reply[0] == msg[0] && reply[1] == msg[1] {
			return reply
		}
	}
	return answerWith(msg, q, rcodeServFail)
}

func (f *forwarder) exchangeUDP(up string, msg []byte) ([]byte, error) {
	c, err := f.dialer.Dial("udp", up)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(upstreamWait))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if n >= 2 && buf[0] == msg[0] && buf[1] == msg[1] {
			return buf[:n], nil
		}
	}
}

func (f *forwarder) exchangeTCP(up string, msg []byte) ([]byte, error) {
	c, err := f.dialer.Dial("tcp", up)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(upstreamWait))
	if err := writeTCPMsg(c, msg); err != nil {
		return nil, err
	}
	return readTCPMsg(c)
}

func writeTCPMsg(w io.Writer, msg []byte) error {
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}

func readTCPMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// serveUDP answers queries on pc until it is closed, one goroutine per query.
func (f *forwarder) serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		if !f.state.acquire() {
			continue // too many queries in flight: drop, the client retries
		}
		go func() {
			defer f.state.release()
			if reply := f.resolve(msg, false); reply != nil {
				_, _ = pc.WriteTo(reply, addr)
			}
		}()
	}
}

// serveTCP answers length-prefixed queries on each accepted connection until it idles or closes.
func (f *forwarder) serveTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !f.state.acquire() {
			c.Close()
			continue
		}
		go func() {
			defer f.state.release()
			defer c.Close()
			for {
				_ = c.SetDeadline(time.Now().Add(tcpIdleTimeout))
				msg, err := readTCPMsg(c)
				if err != nil {
					return
				}
				reply := f.resolve(msg, true)
				if reply == nil || writeTCPMsg(c, reply) != nil {
					return
				}
			}
		}()
	}
}

const (
	typeA    = 1
	typeAAAA = 28
)

// lookup resolves name to its IPv4 then IPv6 addresses through the upstream servers only: never the hosts
// file or resolv.conf, which the sandbox shares with the holder and could rewrite.
func (f *forwarder) lookup(name string) ([]net.IP, error) {
	var ips []net.IP
	var lastErr error
	for _, qtype := range []uint16{typeA, typeAAAA} {
		query := buildQuery(randomID(), name, qtype)
		for _, up := range f.upstream {
			reply, err := f.exchangeUDP(up, query)
			if err == nil && len(reply) >= dnsHeaderLen && reply[2]&0x02 != 0 { // truncated: ask again over TCP
				reply, err = f.exchangeTCP(up, query)
			}
			if err != nil {
				lastErr = err
				continue
			}
			found, err := answerAddrs(reply, qtype)
			if err != nil {
				lastErr = err
				continue
			}
			ips = append(ips, found...)
			break
		}
	}
	if len(ips) == 0 {
		if lastErr == nil {
			lastErr = errors.New("no such host")
		}
		return nil, lastErr
	}
	return ips, nil
}

// buildQuery encodes a recursive query for name (which must be a valid host name) and qtype.
func buildQuery(id uint16, name string, qtype uint16) []byte {
	msg := make([]byte, dnsHeaderLen, dnsHeaderLen+len(name)+6)
	binary.BigEndian.PutUint16(msg[0:2], id)
	binary.BigEndian.PutUint16(msg[2:4], 1<<8) // RD
	binary.BigEndian.PutUint16(msg[4:6], 1)
	for _, label := range strings.Split(normalizeName(name), ".") {
		msg = append(msg, byte(len(label)))
		msg = append(msg, label...)
	}
	msg = append(msg, 0, byte(qtype>>8), byte(qtype), 0, 1)
	return msg
}

// answerAddrs returns the addresses of type qtype in the answer section of reply.
func answerAddrs(reply []byte, qtype uint16) ([]net.IP, error) {
	if len(reply) < dnsHeaderLen {
		return nil, errors.New("short DNS reply")
	}
	if rc := reply[3] & 0xf; rc != 0 {
		return nil, errors.New("DNS error " + []string{"", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}[min(int(rc), 5)])
	}
	qd, an := binary.BigEndian.Uint16(reply[4:6]), binary.BigEndian.Uint16(reply[6:8])
	off := dnsHeaderLen
	for i := 0; i < int(qd); i++ {
		if off = skipName(reply, off); off < 0 {
			return nil, errors.New("malformed DNS reply")
		}
		off += 4
	}
	var ips []net.IP
	for i := 0; i < int(an); i++ {
		off = skipName(reply, off)
		if off < 0 || off+10 > len(reply) {
			return nil, errors.New("malformed DNS reply")
		}
		typ, rdlen := binary.BigEndian.Uint16(reply[off:]), int(binary.BigEndian.Uint16(reply[off+8:]))
		off += 10
		if off+rdlen > len(reply) {
			return nil, errors.New("malformed DNS reply")
		}
		if typ == qtype && (typ == typeA && rdlen == 4 || typ == typeAAAA && rdlen == 16) {
			ips = append(ips, net.IP(append([]byte(nil), reply[off:off+rdlen]...)))
		}
		off += rdlen
	}
	return ips, nil
}

// skipName returns the offset just past the (possibly compressed) name at off, or -1 if malformed.
func skipName(msg []byte, off int) int {
	for off >= 0 && off < len(msg) {
		n := int(msg[off])
		switch {
		case n == 0:
			return off + 1
		case n&0xc0 == 0xc0:
			return off + 2
		case n > 63:
			return -1
		default:
			off += 1 + n
		}
	}
	return -1
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func randomID() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}
