// Package fsops implements the filesystem operations without a shell, with the semantics of Modal's
// modal-sandbox-fs-tools: lstat-based entries, sorted listings, error kinds a client maps to typed errors.
package fsops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"sandboxcore/agent/internal/pathjson"
	"sandboxcore/agent/internal/proc"
	"sandboxcore/agent/internal/users"
)

// Error is an operation failure with a kind from PROTOCOL.md and a message without the path.
type Error struct {
	Kind string
	Msg  string
}

func (e *Error) Error() string { return e.Kind + ": " + e.Msg }

func fail(kind, msg string) *Error { return &Error{Kind: kind, Msg: msg} }

// wrap maps an OS error to an Error.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return fail(proc.KindOf(en), en.Error())
	}
	return fail("Io", err.Error())
}

// CheckPath refuses paths that are not absolute or contain NUL.
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fail("InvalidArgument", "path must be absolute")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fail("InvalidArgument", "path contains a NUL byte")
	}
	return nil
}

// Entry is one FileEntry (Appendix A of modal-sandbox-api.md) plus the numeric owner and group (uid, gid).
// Names, paths and link targets are pathjson strings (bytes that are not UTF-8 survive).
type Entry struct {
	Name          pathjson.Path  `json:"name"`
	Path          pathjson.Path  `json:"path"`
	Type          string         `json:"type"`
	Size          int64          `json:"size"`
	Mode          uint32         `json:"mode"`
	Permissions   string         `json:"permissions"`
	Owner         string         `json:"owner"`
	Group         string         `json:"group"`
	UID           uint32         `json:"uid"`
	GID           uint32         `json:"gid"`
	ModifiedTime  float64        `json:"modified_time"`
	SymlinkTarget *pathjson.Path `json:"symlink_target,omitempty"`
}

func entryOf(name, path string, st *syscall.Stat_t, db *users.DB) Entry {
	e := Entry{
		Name:         pathjson.Path(name),
		Path:         pathjson.Path(path),
		Size:         st.Size,
		Mode:         st.Mode,
		Permissions:  fmt.Sprintf("%04o", st.Mode&0o7777),
		Owner:        db.UserName(int(st.Uid)),
		Group:        db.GroupName(int(st.Gid)),
		UID:          st.Uid,
		GID:          st.Gid,
		ModifiedTime: float64(st.Mtim.Sec) + float64(st.Mtim.Nsec)/1e9,
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		e.Type = "directory"
	case syscall.S_IFLNK:
		e.Type = "symlink"
		t, err := os.Readlink(path)
		if err != nil {
			t = ""
		}
		target := pathjson.Path(t)
		e.SymlinkTarget = &target
	default:
		e.Type = "file"
	}
	return e
}

// Stat describes path itself (lstat): name is the base name of path without trailing slashes.
func Stat(path string) (Entry, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return Entry{}, wrap(err)
	}
	name := filepath.Base(strings.TrimRight(path, "/"))
	if strings.TrimRight(path, "/") == "" {
		name = ""
	}
	return entryOf(name, path, &st, users.Load("/")), nil
}

// List emits the entries of directory path (followed if a symlink), sorted by name, each from lstat.
func List(path string, emit func(Entry) error) error {
	d, err := os.Open(path)
	if err != nil {
		return wrap(err)
	}
	defer d.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(d.Fd()), &st); err != nil {
		return wrap(err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return fail("NotDirectory", "not a directory")
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return wrap(err)
	}
	sort.Strings(names)
	db := users.Load("/")
	for _, n := range names {
		p := filepath.Join(path, n)
		var cst syscall.Stat_t
		if err := syscall.Lstat(p, &cst); err != nil {
			continue // removed meanwhile
		}
		if err := emit(entryOf(n, p, &cst, db)); err != nil {
			return err
		}
	}
	return nil
}

// Remove removes path itself (a symlink is never followed); a non-empty directory only when recursive.
func Remove(path string, recursive bool) error {
	if strings.TrimRight(path, "/") == "" {
		return fail("InvalidArgument", "refusing to remove the root directory")
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return wrap(err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return wrap(syscall.Unlink(path))
	}
	if !recursive {
		err := syscall.Rmdir(path)
		if err == syscall.ENOTEMPTY || err == syscall.EEXIST {
			return fail("DirectoryNotEmpty", "directory not empty")
		}
		return wrap(err)
	}
	return wrap(os.RemoveAll(path))
}

// OpenRead opens path for a streamed read of at most maxSize bytes.
// Only regular files are read: a device (/dev/zero never ends) or a FIFO (its open blocks until a writer comes) is
// refused with kind NotRegular; the open itself is non-blocking so that a FIFO cannot hold it.
func OpenRead(path string, maxSize int64) (*os.File, int64, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, wrap(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, 0, wrap(err)
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		syscall.Close(fd)
		return nil, 0, fail("IsDirectory", "is a directory")
	case syscall.S_IFREG:
	default:
		syscall.Close(fd)
		return nil, 0, fail("NotRegular", "not a regular file (a device, FIFO or socket)")
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, 0, wrap(err)
	}
	f := os.NewFile(uintptr(fd), path)
	if st.Size > maxSize {
		f.Close()
		return nil, 0, fail("FileTooLarge", fmt.Sprintf("file is %d bytes, which exceeds the %d byte limit", st.Size, maxSize))
	}
	return f, st.Size, nil
}

// Wrap maps an OS error to an Error (an Error passes through).
func Wrap(err error) error { return wrap(err) }
