package mux

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"

	"sandboxcore/agent/internal/proto"
)

// A DATA frame whose source is a pipe (a child's stdout or stderr) and whose destination is the agent's own
// stdout pipe is moved with splice(2): the writer writes the frame's header, then has the kernel move the
// payload's pages from the child's pipe into the output pipe, so the agent neither copies the bytes twice nor
// allocates pages for them. The pump learns how much is there (FIONREAD) and the frame carries exactly that.
// A kernel or runtime that refuses splice between these pipes gets the payload copied instead, once, and the
// session's pumps go back to reading (Session.noSplice).

const (
	spliceMove     = 0x1 // SPLICE_F_MOVE
	spliceNonblock = 0x2 // SPLICE_F_NONBLOCK
	pollIn         = 0x1
	pollOut        = 0x4
	pollErr        = 0x8
	pollHup        = 0x10
)

// spliceJob asks the session's writer to send one DATA frame whose payload is the next n bytes of src.
type spliceJob struct {
	hdr  [proto.HeaderSize]byte
	src  *os.File
	n    int
	done chan error // receives the outcome once; the pump reads src again only after it
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// ppoll polls one fd; timeout nil waits without bound.
func ppoll(fd uintptr, events int16, timeout *syscall.Timespec) (int16, error) {
	p := pollFd{fd: int32(fd), events: events}
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1,
			uintptr(unsafe.Pointer(timeout)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return p.revents, nil
	}
}

// spliceSource returns r when it is a pipe a pump can splice from, else nil.
func spliceSource(r io.Reader) *os.File {
	f, ok := r.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	return f
}

// awaitReadable waits until the pipe src holds bytes and returns how many, or returns io.EOF once it is empty
// and has no writer left. It waits in the runtime's poller (src is non-blocking), so read deadlines apply.
func awaitReadable(src *os.File) (int, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var avail int
	var ierr error
	err = rc.Read(func(fd uintptr) bool {
		q, qerr := fionread(fd)
		if qerr != nil || q > 0 {
			avail, ierr = q, qerr
			return true
		}
		revents, perr := ppoll(fd, pollIn, &syscall.Timespec{})
		if perr != nil || revents&(pollHup|pollErr) == 0 {
			ierr = perr
			return perr != nil
		}
		// No writer left: what it wrote before closing is counted now, else the pipe has ended.
		if avail, ierr = fionread(fd); ierr == nil && avail == 0 {
			ierr = io.EOF
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	return avail, ierr
}

// spliceFrom moves exactly n bytes, which src holds, into the pipe. It returns errSpliceRefused, having moved
// nothing, when the kernel does not splice between these two files.
func (p *pacedPipe) spliceFrom(src *os.File, n int) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return err
	}
	for moved := 0; moved < n; {
		var k int64
		var serr error
		left := 1 // what src holds when the splice could not go on
		if err := rc.Control(func(fd uintptr) {
			k, serr = syscall.Splice(int(fd), nil, int(p.fd), nil, n-moved, spliceMove|spliceNonblock)
			if serr == syscall.EAGAIN {
				left, _ = fionread(fd)
			}
		}); err != nil {
			return err
		}
		switch {
		case serr == nil && k > 0:
			moved += int(k)
		case serr == nil:
			return io.ErrUnexpectedEOF // src held n bytes and only this agent reads it: cannot happen
		case serr == syscall.EINTR:
		case serr == syscall.EAGAIN && left == 0:
			return io.ErrUnexpectedEOF // as above: nothing to move, so waiting for room would spin
		case serr == syscall.EAGAIN:
			if err := p.awaitWritable(); err != nil {
				return err
			}
		case moved == 0 && (serr == syscall.EINVAL || serr == syscall.ENOSYS || serr == syscall.EOPNOTSUPP):
			return errSpliceRefused
		default:
			return serr
		}
	}
	return nil
}

var errSpliceRefused = errors.New("splice between these files is not supported")

// awaitWritable waits until the pipe has room again (its reader took some).
func (p *pacedPipe) awaitWritable() error {
	revents, err := ppoll(p.fd, pollOut, nil)
	if err == nil && revents&pollErr != 0 {
		err = syscall.EPIPE
	}
	return err
}

// copyFrom is spliceFrom's fallback: read the n bytes src holds and write them.
func (p *pacedPipe) copyFrom(src *os.File, n int) error {
	b := getBuf(n)
	defer putBuf(b)
	payload := b[proto.HeaderSize:]
	if _, err := io.ReadFull(src, payload); err != nil {
		return err
	}
	_, err := p.f.Write(payload)
	return err
}
