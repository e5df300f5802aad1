// Command sandbox-egress is the network-policy helper of a sandbox's holder container.
//
//	sandbox-egress run CONFIG   install the rules, serve DNS and the proxy, print the ready line (the holder's CMD)
//	sandbox-egress set CONFIG   replace the running helper's policy and cut what it no longer allows (an exec)
//	sandbox-egress dial [--mark N] HOST:PORT
//	                            connect (from a socket with SO_MARK N), print "connected", exit 0; for tests
//
// CONFIG is the JSON of egress.Config. Exit status: 0 success, 1 failure (reason on stderr), 2 usage.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"sandboxcore/agent/internal/egress"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("sandbox-egress: ")
	if len(os.Args) < 3 {
		usage()
	}
	switch os.Args[1] {
	case "run":
		cfg, err := egress.ParseConfig([]byte(os.Args[2]))
		if err != nil {
			log.Fatal(err)
		}
		if err := egress.Run(cfg, os.Stdout); err != nil {
			log.Fatal(err)
		}
	case "set":
		res, err := egress.Replace([]byte(os.Args[2]))
		if err != nil {
			log.Fatal(err)
		}
		_ = json.NewEncoder(os.Stdout).Encode(res)
		if !res.OK {
			os.Exit(1)
		}
	case "dial":
		dial(os.Args[2:])
	default:
		usage()
	}
}

func dial(args []string) {
	mark := 0
	if len(args) == 3 && args[0] == "--mark" {
		m, err := strconv.ParseUint(args[1], 0, 32)
		if err != nil {
			usage()
		}
		mark, args = int(m), args[2:]
	}
	if len(args) != 1 {
		usage()
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	if mark != 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, mark)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", args[0])
	if err != nil {
		log.Fatal(err)
	}
	c.Close()
	fmt.Println("connected")
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sandbox-egress run CONFIG | set CONFIG | dial [--mark N] HOST:PORT")
	os.Exit(2)
}
