package mux

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"sandboxcore/agent/internal/proto"
)

// pageReader reads at most 4 KiB per call, as containerd's shim reads an exec's output.
type pageReader struct{ r io.Reader }

func (p pageReader) Read(b []byte) (int, error) {
	if len(b) > 4096 {
		b = b[:4096]
	}
	return p.r.Read(b)
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeInPieces writes data to w in pieces of varying size, then closes w.
func writeInPieces(w *os.File, data []byte) {
	sizes := []int{1, 4096, 70000, 300 << 10, 17, 65536}
	for i := 0; len(data) > 0; i++ {
		n := sizes[i%len(sizes)]
		if n > len(data) {
			n = len(data)
		}
		if _, err := w.Write(data[:n]); err != nil {
			break
		}
		data = data[n:]
	}
	w.Close()
}

// pumpOverPipes runs a session whose output is an OS pipe (so its pumps may splice), opens one channel whose
// handler pumps a child pipe fed with data, and returns what the peer received on stdout, granting credit as
// it reads, 4 KiB per read. before runs in the handler ahead of the pump.
func pumpOverPipes(t *testing.T, hello proto.Hello, data []byte, before func(ch *Channel)) []byte {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := pipe(t)
	childR, childW := pipe(t)
	go writeInPieces(childW, data)
	go func() {
		_ = Serve(inR, outW, Config{Local: agentHello, Handler: func(ch *Channel, req []byte) {
			defer ch.Close()
			before(ch)
			_ = ch.Pump(proto.StreamStdout, childR)
		}})
		outW.Close()
	}()
	defer inW.Close()
	if _, err := inW.Write(proto.EncodeHello(hello)); err != nil {
		t.Fatal(err)
	}
	if _, err := proto.ReadHello(outR); err != nil {
		t.Fatal(err)
	}
	r := proto.NewReader(pageReader{outR}, hello.MaxFrame)
	if _, err := inW.Write(proto.Frame(proto.TypeOpen, 0, 0, 1, []byte(`{}`))); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		h, b, err := r.Next()
		if err != nil {
			t.Fatalf("reading a frame after %d bytes: %v", len(got), err)
		}
		if h.Type == proto.TypeEOF {
			return got
		}
		if h.Type != proto.TypeData {
			t.Fatalf("unexpected frame %+v", h)
		}
		if len(b) > int(hello.Window) {
			t.Fatalf("a %d-byte frame on a %d-byte window", len(b), hello.Window)
		}
		got = append(got, b...)
		var grant [4]byte
		binary.BigEndian.PutUint32(grant[:], uint32(len(b)))
		if _, err := inW.Write(proto.Frame(proto.TypeWindow, 0, proto.StreamStdout, 1, grant[:])); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSplicedPumpDeliversEveryByteInOrder(t *testing.T) {
	want := randomBytes(t, 3<<20)
	for _, hello := range []proto.Hello{
		{Version: proto.Version, MaxFrame: 256 << 10, Window: 1 << 20, MaxChannels: 4},
		clientHello, // an 8 KiB window: each frame is bounded by the credit, not by what the pipe holds
	} {
		var s *Session
		got := pumpOverPipes(t, hello, want, func(ch *Channel) { s = ch.s })
		if s.spliceTo == nil || s.noSplice.Load() {
			t.Fatal("the session's output is a pipe, yet its pumps did not splice")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("window %d: got %d bytes, want %d (or they differ)", hello.Window, len(got), len(want))
		}
	}
}

func TestPumpReadsOnceSpliceWasRefused(t *testing.T) {
	want := randomBytes(t, 1<<20)
	hello := proto.Hello{Version: proto.Version, MaxFrame: 256 << 10, Window: 1 << 20, MaxChannels: 4}
	got := pumpOverPipes(t, hello, want, func(ch *Channel) { ch.s.noSplice.Store(true) })
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d (or they differ)", len(got), len(want))
	}
}

func TestAwaitReadableCountsThenEnds(t *testing.T) {
	r, w := pipe(t)
	if _, err := w.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if n, err := awaitReadable(r); n != 5 || err != nil {
		t.Fatalf("with 5 bytes and no writer: %d, %v", n, err)
	}
	if _, err := io.ReadFull(r, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	if n, err := awaitReadable(r); n != 0 || err != io.EOF {
		t.Fatalf("drained and no writer: %d, %v", n, err)
	}
}

func TestAwaitReadableWaitsForAWriter(t *testing.T) {
	r, w := pipe(t)
	if err := r.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := awaitReadable(r); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an empty pipe with a writer: %v, want the deadline", err)
	}
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte("late"))
	}()
	if n, err := awaitReadable(r); n != 4 || err != nil {
		t.Fatalf("after a late write: %d, %v", n, err)
	}
}

// The output pipe is small and its reader starts late: the splice waits for room instead of failing or spinning.
func TestSpliceFromWaitsForAStalledReader(t *testing.T) {
	src, srcW := pipe(t)
	outR, outW := pipe(t)
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, srcW.Fd(), 1031, 1<<20); errno != 0 { // F_SETPIPE_SZ
		t.Fatal(errno)
	}
	want := randomBytes(t, 200<<10)
	if _, err := srcW.Write(want); err != nil {
		t.Fatal(err)
	}
	p, ok := pacedOutput(outW).(*pacedPipe)
	if !ok {
		t.Fatal("not paced")
	}
	got := make(chan []byte)
	go func() {
		time.Sleep(50 * time.Millisecond)
		b, _ := io.ReadAll(pageReader{outR})
		got <- b
	}()
	if err := p.spliceFrom(src, len(want)); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("got %d bytes, want %d (or they differ)", len(b), len(want))
	}
}

// queuedIn is the number of bytes in the pipe src.
func queuedIn(src *os.File) (int, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var q int
	var qerr error
	if err := rc.Control(func(fd uintptr) { q, qerr = fionread(fd) }); err != nil {
		return 0, err
	}
	return q, qerr
}

func TestCopyFromMovesExactlyN(t *testing.T) {
	src, srcW := pipe(t)
	outR, outW := pipe(t)
	if _, err := srcW.Write([]byte("abcdefgh")); err != nil {
		t.Fatal(err)
	}
	p := pacedOutput(outW).(*pacedPipe)
	if err := p.copyFrom(src, 5); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	if b, _ := io.ReadAll(outR); string(b) != "abcde" {
		t.Fatalf("copied %q", b)
	}
	if n, _ := queuedIn(src); n != 3 {
		t.Fatalf("%d bytes left in the source, want 3", n)
	}
}
