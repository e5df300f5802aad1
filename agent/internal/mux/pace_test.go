package mux

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"testing"
)

// pipe returns an OS pipe closed at the end of the test (closing an end twice is harmless).
func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestPacedOutputOnlyForPipes(t *testing.T) {
	_, w := pipe(t)
	if _, ok := pacedOutput(w).(*pacedPipe); !ok {
		t.Fatal("a pipe's write end is not paced")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pacedOutput(f) != io.Writer(f) {
		t.Fatal("a regular file is paced")
	}
	var buf bytes.Buffer
	if pacedOutput(&buf) != io.Writer(&buf) {
		t.Fatal("a buffer is paced")
	}
}

// The reader takes 4 KiB at a time, as containerd's shim does; every byte arrives, in order.
func TestPacedPipeDeliversEverythingToAPageAtATimeReader(t *testing.T) {
	r, w := pipe(t)
	want := make([]byte, 3<<20)
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	p := pacedOutput(w)
	go func() {
		for b := want; len(b) > 0; {
			n := 256 << 10
			if n > len(b) {
				n = len(b)
			}
			if _, err := p.Write(b[:n]); err != nil {
				t.Error(err)
				break
			}
			b = b[n:]
		}
		w.Close()
	}()
	var got bytes.Buffer
	page := make([]byte, 4096)
	for {
		n, err := r.Read(page)
		got.Write(page[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("got %d bytes, want %d (or different bytes)", got.Len(), len(want))
	}
}

// A write into a pipe with room goes through at once, and one into a full pipe nobody reads waits in the kernel
// (after the bounded polling) until the reader takes enough: it neither fails nor is lost.
func TestPacedPipeWaitsForAStalledReader(t *testing.T) {
	r, w := pipe(t)
	p := pacedOutput(w).(*pacedPipe)
	if _, err := p.Write(make([]byte, p.size)); err != nil { // fills the pipe: room for all of it
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := p.Write([]byte("after")); done <- err }()
	if _, err := io.ReadFull(r, make([]byte, p.size)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tail := make([]byte, 5)
	if _, err := io.ReadFull(r, tail); err != nil || string(tail) != "after" {
		t.Fatalf("tail %q, %v", tail, err)
	}
}
