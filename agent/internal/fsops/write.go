package fsops

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// OpenWrite opens path for a streamed overwrite. Missing parent directories are created (0755). The walk opens
// each ancestor with O_NOFOLLOW, so a symlinked ancestor is refused rather than written through; a symlink at
// the final component is replaced by the new file, never followed.
func OpenWrite(path string) (*os.File, error) {
	clean := filepath.Clean(path)
	comps := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if clean == "/" || len(comps) == 0 {
		return nil, fail("IsDirectory", "is a directory")
	}
	dirfd, err := walkParents(comps[:len(comps)-1])
	if err != nil {
		return nil, err
	}
	defer syscall.Close(dirfd)
	base := comps[len(comps)-1]
	var st syscall.Stat_t
	if err := fstatat(dirfd, base, &st, atSymlinkNoFollow); err == nil {
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			return nil, fail("IsDirectory", "is a directory")
		case syscall.S_IFLNK:
			if err := syscall.Unlinkat(dirfd, base); err != nil && err != syscall.ENOENT {
				return nil, wrap(err)
			}
		}
	}
	fd, err := syscall.Openat(dirfd, base, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err == syscall.ELOOP {
		return nil, fail("AlreadyExists", "a symbolic link appeared at the path while writing")
	}
	if err != nil {
		return nil, wrap(err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

const atSymlinkNoFollow = 0x100

// walkParents opens (creating where missing) each directory of comps below "/" without following symlinks.
func walkParents(comps []string) (int, error) {
	fd, err := syscall.Open("/", oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, wrap(err)
	}
	for _, c := range comps {
		nfd, err := openDirAt(fd, c)
		if err == syscall.ENOENT {
			if merr := syscall.Mkdirat(fd, c, 0o755); merr != nil && merr != syscall.EEXIST {
				syscall.Close(fd)
				return -1, wrap(merr)
			}
			nfd, err = openDirAt(fd, c)
		}
		if err == syscall.ENOTDIR || err == syscall.ELOOP {
			var st syscall.Stat_t
			kind := "not a directory"
			if fstatat(fd, c, &st, atSymlinkNoFollow) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
				kind = "an ancestor is a symbolic link (" + c + "), which a write does not follow"
			} else {
				kind = "a component of the path (" + c + ") is not a directory"
			}
			syscall.Close(fd)
			return -1, fail("NotDirectory", kind)
		}
		syscall.Close(fd)
		if err != nil {
			return -1, wrap(err)
		}
		fd = nfd
	}
	return fd, nil
}

func openDirAt(dirfd int, name string) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, oPath|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// oPath is O_PATH (not exported by the syscall package of Go 1.19); the same value on amd64 and arm64.
const oPath = 0x200000
