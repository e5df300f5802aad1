package egress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

// The sock_diag netlink interface (linux/inet_diag.h): dump the namespace's TCP sockets and destroy some.
const (
	netlinkSockDiag  = 4
	sockDiagByFamily = 20
	sockDestroy      = 21
	inetDiagMark     = 15
	nlmsgHdrLen      = 16
	diagReqLen       = 56
	diagMsgLen       = 72
	tcpListen        = 10
)

// tcpOutboundStates are the TCP states of a connection the sandbox opened that is still alive.
var tcpOutboundStates = map[uint8]bool{1: true, 2: true, 4: true, 5: true, 8: true, 9: true, 11: true}

var native binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// inetSock is one socket as sock_diag reports it; id is the raw inet_diag_sockid, reused to destroy it.
type inetSock struct {
	family   uint8
	state    uint8
	src, dst net.IP
	sport    uint16
	dport    uint16
	mark     uint32
	id       [48]byte
}

func diagRequest(typ, flags uint16, family uint8, states uint32, id *[48]byte) []byte {
	msg := make([]byte, nlmsgHdrLen+diagReqLen)
	native.PutUint32(msg[0:], uint32(len(msg)))
	native.PutUint16(msg[4:], typ)
	native.PutUint16(msg[6:], flags)
	native.PutUint32(msg[8:], 1)
	req := msg[nlmsgHdrLen:]
	req[0], req[1] = family, syscall.IPPROTO_TCP
	native.PutUint32(req[4:], states)
	if id != nil {
		copy(req[8:], id[:])
	}
	return msg
}

// netlinkExchange sends one request and returns every message of the reply until DONE (dump) or the ack.
func netlinkExchange(req []byte, dump bool) ([][]byte, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkSockDiag)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
	if err := syscall.Sendto(fd, req, 0, sa); err != nil {
		return nil, fmt.Errorf("sock_diag send: %w", err)
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag receive: %w", err)
		}
		for b := buf[:n]; len(b) >= nlmsgHdrLen; {
			l := int(native.Uint32(b[0:]))
			if l < nlmsgHdrLen || l > len(b) {
				return nil, errors.New("sock_diag: malformed reply")
			}
			typ, body := native.Uint16(b[4:]), b[nlmsgHdrLen:l]
			switch typ {
			case syscall.NLMSG_DONE:
				return out, nil
			case syscall.NLMSG_ERROR:
				if errno := int32(native.Uint32(body)); errno != 0 {
					return nil, syscall.Errno(-errno)
				}
				if !dump {
					return out, nil
				}
			default:
				out = append(out, append([]byte(nil), body...))
			}
			b = b[(l+3)&^3:]
		}
	}
}

// dumpTCP lists the namespace's TCP sockets of one address family, with their marks.
func dumpTCP(family uint8) ([]inetSock, error) {
	msgs, err := netlinkExchange(diagRequest(sockDiagByFamily, syscall.NLM_F_REQUEST|syscall.NLM_F_DUMP, family,
		0xffffffff, nil), true)
	if err != nil {
		return nil, err
	}
	socks := make([]inetSock, 0, len(msgs))
	for _, m := range msgs {
		if len(m) < diagMsgLen {
			continue
		}
		s := inetSock{family: m[0], state: m[1]}
		copy(s.id[:], m[4:52])
		s.sport, s.dport = binary.BigEndian.Uint16(m[4:]), binary.BigEndian.Uint16(m[6:])
		if s.family == syscall.AF_INET {
			s.src, s.dst = net.IP(append([]byte(nil), m[8:12]...)), net.IP(append([]byte(nil), m[24:28]...))
		} else {
			s.src, s.dst = net.IP(append([]byte(nil), m[8:24]...)), net.IP(append([]byte(nil), m[24:40]...))
		}
		for a := m[diagMsgLen:]; len(a) >= 4; {
			l, typ := int(native.Uint16(a[0:])), native.Uint16(a[2:])
			if l < 4 || l > len(a) {
				break
			}
			if typ == inetDiagMark && l >= 8 {
				s.mark = native.Uint32(a[4:])
			}
			a = a[min((l+3)&^3, len(a)):]
		}
		socks = append(socks, s)
	}
	return socks, nil
}

// destroy aborts one socket (its owner sees ECONNABORTED); needs CONFIG_INET_DIAG_DESTROY.
func destroy(s inetSock) error {
	_, err := netlinkExchange(diagRequest(sockDestroy, syscall.NLM_F_REQUEST|syscall.NLM_F_ACK, s.family,
		0xffffffff, &s.id), false)
	return err
}

// cutDirect destroys the sandbox's open TCP connections that went straight out (not through the proxy or
// the forwarder, under old) and that next no longer allows. Connections to loopback, connections into a
// listening port (inbound), and the helper's own marked sockets are left alone.
func cutDirect(old, next *Policy, mark uint32) (int, error) {
	cut := 0
	for _, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		socks, err := dumpTCP(family)
		if err != nil {
			if family == syscall.AF_INET6 && !hasIPv6() {
				continue
			}
			return cut, err
		}
		listening := map[uint16]bool{}
		for _, s := range socks {
			if s.state == tcpListen {
				listening[s.sport] = true
			}
		}
		for _, s := range socks {
			if !tcpOutboundStates[s.state] || s.mark&mark == mark || listening[s.sport] ||
				s.dst.IsLoopback() || s.src.IsLoopback() || redirected(old, s) || next.DirectAllowed(s.dst) {
				continue
			}
			if err := destroy(s); err != nil && !errors.Is(err, syscall.ENOENT) {
				return cut, fmt.Errorf("destroy %s:%d: %w", s.dst, s.dport, err)
			}
			cut++
		}
	}
	return cut, nil
}

// redirected reports whether the rules of p sent connection s to the forwarder (DNS) or the proxy.
func redirected(p *Policy, s inetSock) bool {
	if containsIP(p.CIDRs, s.dst) {
		return false
	}
	return s.dport == 53 || p.Redirects() && (s.dport == 80 || s.dport == 443)
}
