package watch

import "sync"

// maxQueued bounds the events a subscription holds for a slow reader; past it, events are dropped and the
// reader gets one Unknown [root] event, which tells it to rescan.
const maxQueued = 4096

// Sub is one watch subscription.
type Sub struct {
	hub       *Hub
	root      string
	rootWD    int32
	recursive bool
	filter    map[string]bool // nil: everything
	paths     map[int32]string

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []Event
	overflow bool
	closed   bool
	ended    bool // the root is gone: Next drains the queue, then reports the end
}

func newSub(h *Hub, root string, recursive bool, filter []string) *Sub {
	s := &Sub{hub: h, root: root, rootWD: -1, recursive: recursive, paths: map[int32]string{}}
	if filter != nil {
		s.filter = map[string]bool{}
		for _, f := range filter {
			s.filter[f] = true
		}
	}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *Sub) push(e Event) {
	if !s.wants(e.Type) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.overflow {
		return
	}
	if len(s.queue) >= maxQueued {
		s.overflow = s.wants("Unknown")
	} else {
		s.queue = append(s.queue, e)
	}
	s.cond.Signal()
}

// Next blocks for the next event; false once closed.
func (s *Sub) Next() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.overflow && !s.closed && !s.ended {
		s.cond.Wait()
	}
	if s.closed {
		return Event{}, false
	}
	if len(s.queue) > 0 {
		e := s.queue[0]
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
		return e, true
	}
	if s.overflow {
		s.overflow = false
		return Event{Type: "Unknown", Paths: []string{s.root}}, true
	}
	return Event{}, false // ended
}

// end marks the watched root gone: the events already queued are still delivered, then Next reports the end.
func (s *Sub) end() {
	s.mu.Lock()
	s.ended = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// wants applies the filter: nil lets everything through, an empty filter nothing.
func (s *Sub) wants(typ string) bool { return s.filter == nil || s.filter[typ] }

// Close ends the subscription and releases its watches.
func (s *Sub) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	s.hub.remove(s)
}
