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
	dirfd, err := walkDirs(comps[:len(comps)-1], true)
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

// Mkdir creates path; with parents like `mkdir -p` (an existing directory, or a symlink to one at the final
// component, is fine). As a write, it never follows a symlinked ancestor (kind Symlink).
func Mkdir(path string, parents bool) error {
	clean := filepath.Clean(path)
	comps := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if clean == "/" {
		if parents {
			return nil
		}
		return fail("PathAlreadyExists", "path already exists")
	}
	dirfd, err := walkDirs(comps[:len(comps)-1], parents)
	if err != nil {
		return err
	}
	defer syscall.Close(dirfd)
	base := comps[len(comps)-1]
	err = syscall.Mkdirat(dirfd, base, 0o755)
	if err == syscall.EEXIST {
		var st syscall.Stat_t
		if parents && fstatat(dirfd, base, &st, 0) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			return nil
		}
		return fail("PathAlreadyExists", "path already exists")
	}
	return wrap(err)
}

// walkDirs opens each directory of comps below "/" without following symlinks (a symlinked ancestor is kind
// Symlink), creating missing ones (0755) when create is set; a missing one is NotFound otherwise.
func walkDirs(comps []string, create bool) (int, error) {
	fd, err := syscall.Open("/", oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, wrap(err)
	}
	for _, c := range comps {
		nfd, err := openDirAt(fd, c)
		if err == syscall.ENOENT && create {
			if merr := syscall.Mkdirat(fd, c, 0o755); merr != nil && merr != syscall.EEXIST {
				syscall.Close(fd)
				return -1, wrap(merr)
			}
			nfd, err = openDirAt(fd, c)
		}
		if err == syscall.ENOTDIR || err == syscall.ELOOP {
			var st syscall.Stat_t
			isLink := fstatat(fd, c, &st, atSymlinkNoFollow) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFLNK
			syscall.Close(fd)
			if isLink {
				return -1, fail("Symlink", "refusing to write through a symbolic link (an ancestor, "+c+")")
			}
			return -1, fail("NotDirectory", "a component of the path ("+c+") is not a directory")
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
