package mux

import (
	"errors"
	"syscall"
)

// isEIO reports a PTY master's "all slave ends closed", which is its end of output.
func isEIO(err error) bool { return errors.Is(err, syscall.EIO) }
