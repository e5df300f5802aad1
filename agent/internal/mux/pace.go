package mux

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// A writer blocked on a full pipe is woken each time the reader takes some of it: containerd's shim reads an
// exec's output 4 KiB at a time, so a bulk stream written with blocking writes costs the agent a context switch
// (and the shim a wake-up) per page, about 25,000 per 100 MiB, all of it CPU taken from the sandbox and the
// engine. pacedPipe waits instead until the pipe has room for the whole write (at most half the pipe), checking
// its fill level in short sleeps, so each write goes through at once: a few wake-ups per frame, not one per page.
// The wait is bounded: past paceMaxWait the write blocks in the kernel as any write would (a reader that stopped
// costs no polling), and a pipe with room is written at once (interactive output is not delayed).
const (
	paceStep    = 250 * time.Microsecond
	paceMaxWait = 4 * time.Millisecond
	fGetPipeSz  = 1032 // F_GETPIPE_SZ
)

type pacedPipe struct {
	f    *os.File
	fd   uintptr
	size int
}

// pacedOutput returns out paced when it is a pipe whose fill level can be read, else out itself.
func pacedOutput(out io.Writer) io.Writer {
	f, ok := out.(*os.File)
	if !ok {
		return out
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return out
	}
	p := &pacedPipe{f: f}
	_ = rc.Control(func(fd uintptr) {
		size, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
		if errno == 0 {
			p.fd, p.size = fd, int(size)
		}
	})
	if p.size == 0 {
		return out
	}
	if _, err := p.queued(); err != nil {
		return out
	}
	return p
}

// fionread is the number of bytes in the pipe fd (FIONREAD works on either end).
func fionread(fd uintptr) (int, error) {
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// queued is the number of bytes in the pipe.
func (p *pacedPipe) queued() (int, error) { return fionread(p.fd) }

// awaitRoom waits, within paceMaxWait, until the pipe has room for n bytes (at most half the pipe).
func (p *pacedPipe) awaitRoom(n int) {
	if n > p.size/2 {
		n = p.size / 2
	}
	for waited := time.Duration(0); waited < paceMaxWait; waited += paceStep {
		if q, err := p.queued(); err != nil || p.size-q >= n {
			return
		}
		time.Sleep(paceStep)
	}
}

func (p *pacedPipe) Write(b []byte) (int, error) {
	p.awaitRoom(len(b))
	return p.f.Write(b)
}
