// Command testdns is an authoritative DNS server for tests: it answers A and AAAA queries for the names it was
// given (NAME=IP ...), NXDOMAIN for any other name, and prints every question it receives ("query NAME"), so a
// test can tell whether a query reached it at all.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

func main() {
	names := map[string][]net.IP{}
	for _, arg := range os.Args[1:] {
		name, ip, ok := strings.Cut(arg, "=")
		if !ok || net.ParseIP(ip) == nil {
			fmt.Fprintln(os.Stderr, "usage: testdns NAME=IP ...")
			os.Exit(2)
		}
		key := strings.ToLower(strings.TrimSuffix(name, "."))
		names[key] = append(names[key], net.ParseIP(ip))
	}
	pc, err := net.ListenPacket("udp", ":53")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", ":53")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("testdns: ready")
	go serveTCP(ln, names)
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			continue
		}
		if reply := answer(buf[:n], names); reply != nil {
			_, _ = pc.WriteTo(reply, addr)
		}
	}
}

func serveTCP(ln net.Listener, names map[string][]net.IP) {
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			var l [2]byte
			if _, err := io.ReadFull(c, l[:]); err != nil {
				return
			}
			msg := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			if reply := answer(msg, names); reply != nil {
				binary.BigEndian.PutUint16(l[:], uint16(len(reply)))
				_, _ = c.Write(append(l[:], reply...))
			}
		}()
	}
}

// answer builds the reply to one query with a single question.
func answer(msg []byte, names map[string][]net.IP) []byte {
	if len(msg) < 12 || binary.BigEndian.Uint16(msg[4:6]) != 1 {
		return nil
	}
	off, labels := 12, []string{}
	for off < len(msg) && msg[off] != 0 {
		n := int(msg[off])
		if n > 63 || off+1+n > len(msg) {
			return nil
		}
		labels = append(labels, string(msg[off+1:off+1+n]))
		off += 1 + n
	}
	if off+5 > len(msg) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(msg[off+1:])
	end := off + 5
	name := strings.ToLower(strings.Join(labels, "."))
	fmt.Printf("query %s\n", name)
	ips, known := names[name]
	out := append([]byte(nil), msg[:end]...)
	flags := uint16(1<<15 | 1<<10 | 1<<7) // QR, AA, RA
	flags |= binary.BigEndian.Uint16(msg[2:4]) & (1 << 8)
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(out[2:4], flags)
	binary.BigEndian.PutUint16(out[6:8], 0)
	binary.BigEndian.PutUint16(out[8:10], 0)
	binary.BigEndian.PutUint16(out[10:12], 0)
	count := 0
	for _, ip := range ips {
		v4 := ip.To4()
		var rdata []byte
		switch {
		case qtype == 1 && v4 != nil:
			rdata = v4
		case qtype == 28 && v4 == nil:
			rdata = ip.To16()
		default:
			continue
		}
		out = append(out, 0xc0, 12) // pointer to the question's name
		out = binary.BigEndian.AppendUint16(out, qtype)
		out = append(out, 0, 1, 0, 0, 0, 5) // class IN, TTL 5 s
		out = binary.BigEndian.AppendUint16(out, uint16(len(rdata)))
		out = append(out, rdata...)
		count++
	}
	binary.BigEndian.PutUint16(out[6:8], uint16(count))
	return out
}
