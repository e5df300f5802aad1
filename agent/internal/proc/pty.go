package proc

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

func ioctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// OpenPty opens a pseudo-terminal pair: a non-blocking (runtime-polled) master and a blocking slave.
func OpenPty(rows, cols uint16) (master, slave *os.File, err error) {
	fd, err := syscall.Open("/dev/ptmx", syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	var unlock int32
	if err = ioctl(uintptr(fd), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		master.Close()
		return nil, nil, err
	}
	var n uint32
	if err = ioctl(uintptr(fd), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		master.Close()
		return nil, nil, err
	}
	sfd, err := syscall.Open("/dev/pts/"+strconv.Itoa(int(n)), syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave = os.NewFile(uintptr(sfd), "/dev/pts/"+strconv.Itoa(int(n)))
	if err = Resize(master, rows, cols); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

type winsize struct{ rows, cols, x, y uint16 }

// Resize sets the terminal size (the kernel sends SIGWINCH to the foreground group).
func Resize(master *os.File, rows, cols uint16) error {
	ws := winsize{rows: rows, cols: cols}
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { ierr = ioctl(fd, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)) }); err != nil {
		return err
	}
	return ierr
}

// eofChar is the terminal's VEOF character (what ^D is by default).
func eofChar(master *os.File) byte {
	var t syscall.Termios
	rc, err := master.SyscallConn()
	if err != nil {
		return 4
	}
	var ierr error
	_ = rc.Control(func(fd uintptr) { ierr = ioctl(fd, syscall.TCGETS, unsafe.Pointer(&t)) })
	if ierr != nil || t.Cc[syscall.VEOF] == 0 {
		return 4
	}
	return t.Cc[syscall.VEOF]
}

// isTTY reports whether fd is a terminal.
func isTTY(fd uintptr) bool {
	var t syscall.Termios
	return ioctl(fd, syscall.TCGETS, unsafe.Pointer(&t)) == nil
}
