package watch

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func next(t *testing.T, s *Sub) Event {
	t.Helper()
	got := make(chan Event, 1)
	go func() {
		if e, ok := s.Next(); ok {
			got <- e
		}
	}()
	select {
	case e := <-got:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

func TestOverflowReportsUnknownAndRescans(t *testing.T) {
	dir := t.TempDir()
	h := NewHub()
	s, err := h.Watch(dir, true, []string{"Unknown", "Create"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// a directory made while events were being lost: the rescan must watch it
	h.mu.Lock()
	if err := os.Mkdir(filepath.Join(dir, "lost"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.handle(rawEvent{wd: -1, mask: syscall.IN_Q_OVERFLOW})
	h.mu.Unlock()
	for {
		e := next(t, s)
		if e.Type == "Unknown" {
			if len(e.Paths) != 1 || e.Paths[0] != dir {
				t.Fatalf("Unknown for %v, want [%s]", e.Paths, dir)
			}
			break
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "lost", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		if e := next(t, s); e.Type == "Create" && e.Paths[0] == filepath.Join(dir, "lost", "f") {
			return
		}
	}
}

func TestAMoveOutOfTheTreeIsOneSidedModify(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := NewHub()
	s, err := h.Watch(dir, false, []string{"Modify"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Rename(filepath.Join(dir, "x"), filepath.Join(out, "x")); err != nil {
		t.Fatal(err)
	}
	e := next(t, s)
	if e.Type != "Modify" || len(e.Paths) != 1 || e.Paths[0] != filepath.Join(dir, "x") {
		t.Fatalf("got %+v", e)
	}
}

func TestClosingTheLastSubscriptionRemovesTheWatch(t *testing.T) {
	dir := t.TempDir()
	h := NewHub()
	a, err := h.Watch(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Watch(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	h.mu.Lock()
	n := len(h.wds)
	h.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d watches after closing one of two subscriptions, want 1", n)
	}
	b.Close()
	h.mu.Lock()
	n = len(h.wds)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d watches after closing both, want 0", n)
	}
	if _, err := h.Watch(filepath.Join(dir, "none"), false, nil); err == nil || err.(*WatchError).Kind != "NotFound" {
		t.Fatalf("watching a missing path: %v", err)
	}
}

func TestWatchEndsWhenTheRootGoesAfterItsLastEvents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := NewHub()
	s, err := h.Watch(dir, false, []string{"Remove"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if e := next(t, s); e.Type != "Remove" || e.Paths[0] != dir {
		t.Fatalf("got %+v, want Remove [%s]", e, dir)
	}
	done := make(chan bool, 1)
	go func() { _, ok := s.Next(); done <- ok }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("an event after the root was removed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end when its root was removed")
	}
}
