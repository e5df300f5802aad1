// Package watch serves filesystem watches from one inotify instance per agent (inotify limits are per real uid,
// shared with every container of the host, so one instance and one watch per directory is the frugal shape).
//
// Mapping (as notify-rs maps inotify, which Modal's event names follow): CREATE -> Create; MODIFY, ATTRIB ->
// Modify; ACCESS, OPEN, CLOSE_* of files -> Access; DELETE, DELETE_SELF of the root -> Remove; a MOVED_FROM
// with its MOVED_TO -> one Modify [src, dst] (one side in scope: Modify [that side]); Q_OVERFLOW -> Unknown
// [root] plus a rescan. A directory created inside a recursive watch is watched and then scanned, each entry
// found reported as Create, so entries made before its watch existed are not lost. When the watched path itself
// goes away, the subscription delivers what it queued and ends.
package watch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"sandboxcore/agent/internal/pathjson"
)

// Event is one watch event, as sent to the client (one JSON line each; paths with pathjson's escapes).
type Event struct {
	Type  string   `json:"event_type"`
	Paths []string `json:"paths"`
}

// MarshalJSON writes the event with each path as a pathjson string (bytes that are not UTF-8 survive).
func (e Event) MarshalJSON() ([]byte, error) {
	paths := make([]pathjson.Path, len(e.Paths))
	for i, p := range e.Paths {
		paths[i] = pathjson.Path(p)
	}
	return json.Marshal(struct {
		Type  string          `json:"event_type"`
		Paths []pathjson.Path `json:"paths"`
	}{e.Type, paths})
}

const (
	eventMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_ATTRIB | syscall.IN_ACCESS | syscall.IN_OPEN |
		syscall.IN_CLOSE_WRITE | syscall.IN_CLOSE_NOWRITE | syscall.IN_DELETE | syscall.IN_DELETE_SELF |
		syscall.IN_MOVED_FROM | syscall.IN_MOVED_TO
	subdirFlags = syscall.IN_ONLYDIR | syscall.IN_DONT_FOLLOW
	// pairWait is how long a MOVED_FROM at the end of a read waits for its MOVED_TO.
	pairWait = 5 * time.Millisecond
)

// Hub owns the agent's inotify instance.
type Hub struct {
	mu      sync.Mutex
	fd      int
	file    *os.File
	wds     map[int32]map[*Sub]bool
	subs    map[*Sub]bool
	pending *rawEvent // a MOVED_FROM waiting for its MOVED_TO
}

type rawEvent struct {
	wd     int32
	mask   uint32
	cookie uint32
	name   string
}

// NewHub returns a hub; inotify is initialised on the first watch.
func NewHub() *Hub {
	return &Hub{fd: -1, wds: map[int32]map[*Sub]bool{}, subs: map[*Sub]bool{}}
}

// WatchError is a failure to start a watch; Kind follows PROTOCOL.md.
type WatchError struct{ Kind, Msg string }

func (e *WatchError) Error() string { return e.Msg }

func (h *Hub) init() error {
	if h.fd >= 0 {
		return nil
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return err
	}
	h.fd = fd
	h.file = os.NewFile(uintptr(fd), "inotify")
	go h.readLoop()
	return nil
}

// Watch starts a subscription on path (followed if a symlink). filter nil means every type; empty means none.
func (h *Hub) Watch(path string, recursive bool, filter []string) (*Sub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.init(); err != nil {
		return nil, &WatchError{Kind: "ResourceExhausted", Msg: "cannot create an inotify instance: " + err.Error()}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, &WatchError{Kind: kindOf(err), Msg: errMsg(err)}
	}
	s := newSub(h, path, recursive && st.IsDir(), filter)
	if _, err := h.add(s, path, 0); err != nil {
		return nil, &WatchError{Kind: kindOf(err), Msg: errMsg(err)}
	}
	h.subs[s] = true
	if s.recursive {
		h.scan(s, path, false)
	}
	return s, nil
}

func errMsg(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func kindOf(err error) string {
	switch {
	case os.IsNotExist(err):
		return "NotFound"
	case os.IsPermission(err):
		return "PermissionDenied"
	case err == syscall.ENOSPC || err == syscall.ENOMEM:
		return "ResourceExhausted"
	}
	return "Io"
}

// add watches path for s; flags adds IN_ONLYDIR|IN_DONT_FOLLOW for subdirectories.
// Linux refuses a watch on a file the caller may not read; gVisor grants it (and then reports nothing), so the
// read permission is checked first, the same way on both.
func (h *Hub) add(s *Sub, path string, flags uint32) (int32, error) {
	const rOK = 4
	if err := syscall.Access(path, rOK); err == syscall.EACCES {
		return -1, &os.PathError{Op: "watch", Path: path, Err: err}
	}
	wd, err := syscall.InotifyAddWatch(h.fd, path, eventMask|flags)
	if err != nil {
		return -1, &os.PathError{Op: "watch", Path: path, Err: err}
	}
	w := int32(wd)
	if h.wds[w] == nil {
		h.wds[w] = map[*Sub]bool{}
	}
	h.wds[w][s] = true
	if s.rootWD < 0 {
		s.rootWD = w
	}
	s.paths[w] = path
	return w, nil
}

// scan watches every directory under dir for s; with report, each entry found is a Create event.
func (h *Hub) scan(s *Sub, dir string, report bool) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		p := join(dir, n)
		if report {
			s.push(Event{Type: "Create", Paths: []string{p}})
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFDIR && !pseudoFS(p) {
			if _, err := h.add(s, p, subdirFlags); err == nil {
				h.scan(s, p, report)
			}
		}
	}
}

// remove ends s's interest in every watch it holds.
func (h *Hub) remove(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	for wd := range s.paths {
		h.drop(s, wd)
	}
}

func (h *Hub) drop(s *Sub, wd int32) {
	delete(s.paths, wd)
	if set := h.wds[wd]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.wds, wd)
			_, _ = syscall.InotifyRmWatch(h.fd, uint32(wd))
		}
	}
}

func (h *Hub) readLoop() {
	buf := make([]byte, 64<<10)
	for {
		h.mu.Lock()
		waiting := h.pending != nil
		h.mu.Unlock()
		if waiting {
			_ = h.file.SetReadDeadline(time.Now().Add(pairWait))
		} else {
			_ = h.file.SetReadDeadline(time.Time{})
		}
		n, err := h.file.Read(buf)
		h.mu.Lock()
		if err != nil {
			h.flushPending()
			h.mu.Unlock()
			if os.IsTimeout(err) {
				continue
			}
			return
		}
		h.parse(buf[:n])
		h.mu.Unlock()
	}
}

func (h *Hub) parse(b []byte) {
	for len(b) >= syscall.SizeofInotifyEvent {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := syscall.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			return
		}
		name := strings.TrimRight(string(b[syscall.SizeofInotifyEvent:end]), "\x00")
		h.handle(rawEvent{wd: ev.Wd, mask: ev.Mask, cookie: ev.Cookie, name: name})
		b = b[end:]
	}
}

func (h *Hub) handle(ev rawEvent) {
	if h.pending != nil {
		from := *h.pending
		h.pending = nil
		if ev.mask&syscall.IN_MOVED_TO != 0 && ev.cookie == from.cookie {
			h.rename(&from, &ev)
			return
		}
		h.rename(&from, nil)
	}
	switch {
	case ev.mask&syscall.IN_Q_OVERFLOW != 0:
		h.overflow()
	case ev.mask&syscall.IN_IGNORED != 0:
		for s := range h.wds[ev.wd] {
			delete(s.paths, ev.wd)
			if ev.wd == s.rootWD {
				s.end() // the watched path itself is gone (removed, or its filesystem unmounted)
			}
		}
		delete(h.wds, ev.wd)
	case ev.mask&syscall.IN_MOVED_FROM != 0:
		e := ev
		h.pending = &e
	case ev.mask&syscall.IN_MOVED_TO != 0:
		h.rename(nil, &ev)
	default:
		for s := range h.wds[ev.wd] {
			h.simple(s, ev)
		}
	}
}

func (h *Hub) flushPending() {
	if h.pending != nil {
		from := *h.pending
		h.pending = nil
		h.rename(&from, nil)
	}
}

func (h *Hub) overflow() {
	for s := range h.subs {
		s.push(Event{Type: "Unknown", Paths: []string{s.root}})
		if s.recursive {
			h.scan(s, s.root, false)
		}
	}
}

// simple maps a non-move event for one subscription.
func (h *Hub) simple(s *Sub, ev rawEvent) {
	base, ok := s.paths[ev.wd]
	if !ok {
		return
	}
	path := base
	if ev.name != "" {
		path = join(base, ev.name)
	}
	isDir := ev.mask&syscall.IN_ISDIR != 0
	switch {
	case ev.mask&syscall.IN_CREATE != 0:
		s.push(Event{Type: "Create", Paths: []string{path}})
		if isDir && s.recursive {
			if _, err := h.add(s, path, subdirFlags); err == nil {
				h.scan(s, path, true)
			}
		}
	case ev.mask&(syscall.IN_MODIFY|syscall.IN_ATTRIB) != 0:
		if !(isDir && ev.name == "" && ev.wd != s.rootWD) {
			s.push(Event{Type: "Modify", Paths: []string{path}})
		}
	case ev.mask&(syscall.IN_ACCESS|syscall.IN_OPEN|syscall.IN_CLOSE_WRITE|syscall.IN_CLOSE_NOWRITE) != 0:
		if !isDir {
			s.push(Event{Type: "Access", Paths: []string{path}})
		}
	case ev.mask&syscall.IN_DELETE != 0:
		s.push(Event{Type: "Remove", Paths: []string{path}})
	case ev.mask&syscall.IN_DELETE_SELF != 0:
		if ev.wd == s.rootWD {
			s.push(Event{Type: "Remove", Paths: []string{path}})
		}
	}
}

// rename reports a move: both halves (paired), or one. Watches of moved directories follow the move.
func (h *Hub) rename(from, to *rawEvent) {
	subs := map[*Sub]bool{}
	if from != nil {
		for s := range h.wds[from.wd] {
			subs[s] = true
		}
	}
	if to != nil {
		for s := range h.wds[to.wd] {
			subs[s] = true
		}
	}
	for s := range subs {
		var paths []string
		var src, dst string
		if from != nil {
			if base, ok := s.paths[from.wd]; ok {
				src = join(base, from.name)
				paths = append(paths, src)
			}
		}
		if to != nil {
			if base, ok := s.paths[to.wd]; ok {
				dst = join(base, to.name)
				paths = append(paths, dst)
			}
		}
		if len(paths) == 0 {
			continue
		}
		s.push(Event{Type: "Modify", Paths: paths})
		isDir := (from != nil && from.mask&syscall.IN_ISDIR != 0) || (to != nil && to.mask&syscall.IN_ISDIR != 0)
		if isDir && s.recursive {
			h.moveDir(s, src, dst)
		}
	}
}

// moveDir re-homes s's watches under src to dst, drops them (moved out), or adds them (moved in).
func (h *Hub) moveDir(s *Sub, src, dst string) {
	if src != "" {
		for wd, p := range s.paths {
			if p == src || strings.HasPrefix(p, src+"/") {
				if dst != "" {
					s.paths[wd] = dst + strings.TrimPrefix(p, src)
				} else {
					h.drop(s, wd)
				}
			}
		}
		return
	}
	if dst != "" {
		if _, err := h.add(s, dst, subdirFlags); err == nil {
			h.scan(s, dst, true)
		}
	}
}

// Clean normalises a watch root.
func Clean(p string) string { return filepath.Clean(p) }

// pseudoFS reports kernel filesystems (/proc, /sys, cgroups, devpts, ...) that a recursive watch does not
// descend into: their trees are large, synthetic, and never report file events.
func pseudoFS(path string) bool {
	var fs syscall.Statfs_t
	if syscall.Statfs(path, &fs) != nil {
		return false
	}
	switch uint64(fs.Type) {
	case 0x9fa0, 0x62656572, 0x27e0eb, 0x63677270, 0x1cd1, 0x64626720, 0x74726163, 0x73636673, 0xcafe4a11:
		return true // proc, sysfs, cgroup, cgroup2, devpts, debugfs, tracefs, securityfs, bpf
	}
	return false
}

func join(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
