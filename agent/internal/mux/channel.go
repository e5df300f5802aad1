package mux

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"

	"sandboxcore/agent/internal/proto"
)

// maxPendingMsgs bounds the control messages a peer may queue on one channel before it is a protocol error.
const maxPendingMsgs = 1024

// Channel is one multiplexed channel, seen from the agent.
type Channel struct {
	ID   uint32
	s    *Session
	mu   sync.Mutex
	cond *sync.Cond

	credit  [proto.NumStreams]int64 // what we may still send per stream (peer's grant)
	eofSent [proto.NumStreams]bool

	in        [][]byte // received stdin not yet read
	inAfter   []uint64 // per chunk of in: how many messages had arrived before it
	inCredit  int64    // what the peer may still send on stdin
	inUngrant int64    // bytes read by the handler and not yet granted back
	inEOF     bool
	eofAfter  uint64 // how many messages had arrived before the EOF

	msgs        []json.RawMessage
	msgsIn      uint64 // messages received so far
	msgsHandled uint64 // messages the handler reported handled (MsgHandled)
	ordered     bool   // Read holds stdin back until the messages sent before it are handled

	peerClosed bool
	closeSent  bool
	dead       bool
	done       chan struct{}
}

func newChannel(s *Session, id uint32) *Channel {
	c := &Channel{ID: id, s: s, done: make(chan struct{}), inCredit: int64(s.cfg.Local.Window)}
	c.cond = sync.NewCond(&c.mu)
	for i := range c.credit {
		c.credit[i] = int64(s.peer.Window)
	}
	return c
}

// Done is closed when the peer closed the channel or the session ended.
func (c *Channel) Done() <-chan struct{} { return c.done }

func (c *Channel) closedLocked() bool { return c.peerClosed || c.closeSent || c.dead }

func (c *Channel) markDead() {
	c.mu.Lock()
	if !c.dead {
		c.dead = true
		if !c.peerClosed {
			close(c.done)
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
}

// receive applies one frame from the peer (called by the reader goroutine only).
func (c *Channel) receive(h proto.Header, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peerClosed {
		return proto.Errorf("frame type %d on channel %d after the peer closed it", h.Type, c.ID)
	}
	if h.Type == proto.TypeClose {
		c.peerClosed = true
		if !c.dead {
			close(c.done)
		}
		c.cond.Broadcast()
		if c.closeSent {
			c.s.retire(c.ID)
		}
		return nil
	}
	if err := c.validate(h, p); err != nil {
		return err
	}
	if c.closeSent {
		return nil // crossed our CLOSE: valid, and no longer of interest
	}
	switch h.Type {
	case proto.TypeData:
		c.inCredit -= int64(len(p))
		if len(p) > 0 {
			c.in = append(c.in, append([]byte(nil), p...))
			c.inAfter = append(c.inAfter, c.msgsIn)
			c.s.cfg.OnActivity()
		}
	case proto.TypeEOF:
		c.inEOF = true
		c.eofAfter = c.msgsIn
	case proto.TypeWindow:
		c.credit[h.Stream] += int64(decodeWindow(p))
	case proto.TypeMsg:
		c.msgs = append(c.msgs, append(json.RawMessage(nil), p...))
		c.msgsIn++
	}
	c.cond.Broadcast()
	return nil
}

// validate checks a frame against the channel's state (credit, EOF, stream direction).
func (c *Channel) validate(h proto.Header, p []byte) error {
	switch h.Type {
	case proto.TypeData, proto.TypeEOF:
		if h.Stream != proto.StreamStdin {
			return proto.Errorf("type %d frame for stream %d, which only the agent sends", h.Type, h.Stream)
		}
		if c.inEOF {
			return proto.Errorf("type %d frame on channel %d after its EOF", h.Type, c.ID)
		}
		if int64(len(p)) > c.inCredit {
			return proto.Errorf("channel %d overran its window (%d bytes, %d credit)", c.ID, len(p), c.inCredit)
		}
	case proto.TypeWindow:
		if h.Stream == proto.StreamStdin {
			return proto.Errorf("window frame for stream 0, which only the client sends")
		}
		d := int64(decodeWindow(p))
		if d == 0 || c.credit[h.Stream]+d > proto.MaxCredit {
			return proto.Errorf("window update of %d on channel %d is zero or overflows", d, c.ID)
		}
	case proto.TypeMsg:
		if len(c.msgs) >= maxPendingMsgs {
			return proto.Errorf("more than %d unhandled messages on channel %d", maxPendingMsgs, c.ID)
		}
		if !json.Valid(p) {
			return proto.Errorf("message on channel %d is not JSON", c.ID)
		}
	}
	return nil
}

// OrderStdinAfterMsgs makes Read keep the peer's order between messages and stdin: a stdin chunk (or the EOF)
// is returned only once every message the peer sent before it was handled (MsgHandled). For a handler that reads
// stdin and messages in two goroutines, where a message changes what the stdin's reader sees (a PTY resize).
func (c *Channel) OrderStdinAfterMsgs() {
	c.mu.Lock()
	c.ordered = true
	c.mu.Unlock()
}

// MsgHandled reports one message returned by NextMsg as handled (see OrderStdinAfterMsgs).
func (c *Channel) MsgHandled() {
	c.mu.Lock()
	c.msgsHandled++
	c.cond.Broadcast()
	c.mu.Unlock()
}

// stdinHeldLocked is true while the next stdin chunk or EOF waits for messages sent before it.
func (c *Channel) stdinHeldLocked() bool {
	if !c.ordered || c.closedLocked() {
		return false
	}
	if len(c.in) > 0 {
		return c.inAfter[0] > c.msgsHandled
	}
	return c.inEOF && c.eofAfter > c.msgsHandled
}

// Read returns the next stdin chunk; io.EOF after the peer's EOF, ErrClosed once closed.
func (c *Channel) Read() ([]byte, error) {
	c.mu.Lock()
	for (len(c.in) == 0 && !c.inEOF && !c.closedLocked()) || c.stdinHeldLocked() {
		c.cond.Wait()
	}
	if len(c.in) == 0 {
		eof := c.inEOF
		closed := c.closedLocked()
		c.mu.Unlock()
		if eof && !closed {
			return nil, io.EOF
		}
		return nil, ErrClosed
	}
	b := c.in[0]
	c.in[0] = nil
	c.in = c.in[1:]
	c.inAfter = c.inAfter[1:]
	c.inUngrant += int64(len(b))
	var grant int64
	if c.inUngrant >= int64(c.s.cfg.Local.Window)/2 && !c.inEOF {
		grant, c.inUngrant = c.inUngrant, 0
		c.inCredit += grant
	}
	c.mu.Unlock()
	if grant > 0 {
		c.s.enqueue(proto.Frame(proto.TypeWindow, 0, proto.StreamStdin, c.ID, proto.WindowPayload(uint32(grant))))
	}
	return b, nil
}

// NextMsg returns the next control message from the peer; false once the channel is closed.
func (c *Channel) NextMsg() (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.msgs) == 0 && !c.closedLocked() {
		c.cond.Wait()
	}
	if len(c.msgs) == 0 {
		return nil, false
	}
	m := c.msgs[0]
	c.msgs = c.msgs[1:]
	return m, true
}

// awaitCredit blocks until stream has credit; it returns at most max bytes of it (0 once closed).
func (c *Channel) awaitCredit(stream uint8, max int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.credit[stream] == 0 && !c.closedLocked() {
		c.cond.Wait()
	}
	if c.closedLocked() {
		return 0
	}
	n := int64(max)
	if c.credit[stream] < n {
		n = c.credit[stream]
	}
	return int(n)
}

func (c *Channel) spend(stream uint8, n int) {
	c.mu.Lock()
	c.credit[stream] -= int64(n)
	c.mu.Unlock()
}

func (c *Channel) chunkLimit() int {
	n := int(c.s.peer.MaxFrame)
	if n > smallBuf {
		n = smallBuf
	}
	return n
}

// pumpLimit is Pump's read size: small while reads come back short (an idle or chatty stream holds little
// memory while it blocks), the peer's max frame (up to bigBuf) while they fill the buffer (a bulk stream
// moves in fewer, larger frames).
func (c *Channel) pumpLimit(bulk bool) int {
	n := int(c.s.peer.MaxFrame)
	max := smallBuf
	if bulk {
		max = bigBuf
	}
	if n > max {
		n = max
	}
	return n
}

// Send sends p on stream, waiting for credit; ErrClosed if the channel closes first.
func (c *Channel) Send(stream uint8, p []byte) error {
	for len(p) > 0 {
		n := c.awaitCredit(stream, c.chunkLimit())
		if n == 0 {
			return ErrClosed
		}
		if n > len(p) {
			n = len(p)
		}
		b := getBuf(n)
		proto.PutHeader(b, proto.Header{Type: proto.TypeData, Stream: stream, Channel: c.ID, Length: uint32(n)})
		copy(b[proto.HeaderSize:], p[:n])
		c.spend(stream, n)
		if !c.s.enqueue(b) {
			return ErrClosed
		}
		c.s.cfg.OnActivity()
		p = p[n:]
	}
	return nil
}

// Pump copies r to stream until r ends (then sends EOF and returns nil) or the channel closes (ErrClosed).
// It reads only as much as the peer's credit allows, so a slow peer stalls r's writer, not our memory.
// A pipe is spliced into the session's output when that is a pipe too (splice.go).
func (c *Channel) Pump(stream uint8, r io.Reader) error {
	if src := spliceSource(r); src != nil && c.s.spliceTo != nil && !c.s.noSplice.Load() {
		return c.pumpSpliced(stream, src)
	}
	return c.pumpRead(stream, r)
}

func (c *Channel) pumpRead(stream uint8, r io.Reader) error {
	bulk := false
	for {
		n := c.awaitCredit(stream, c.pumpLimit(bulk))
		if n == 0 {
			return ErrClosed
		}
		b := getBuf(n)
		k, err := r.Read(b[proto.HeaderSize:])
		bulk = k == n
		if k > 0 {
			b = b[:proto.HeaderSize+k]
			proto.PutHeader(b, proto.Header{Type: proto.TypeData, Stream: stream, Channel: c.ID, Length: uint32(k)})
			c.spend(stream, k)
			if !c.s.enqueue(b) {
				return ErrClosed
			}
			c.s.cfg.OnActivity()
		} else {
			putBuf(b)
		}
		if err != nil {
			if err == io.EOF || isEIO(err) || errors.Is(err, os.ErrDeadlineExceeded) {
				return c.SendEOF(stream)
			}
			return err
		}
	}
}

// pumpSpliced is Pump for a pipe: each frame carries what the pipe holds (up to the credit and frame size),
// moved by the session's writer; the pipe is looked at again only once the writer is done with it.
func (c *Channel) pumpSpliced(stream uint8, src *os.File) error {
	for !c.s.noSplice.Load() {
		n := c.awaitCredit(stream, c.pumpLimit(true))
		if n == 0 {
			return ErrClosed
		}
		avail, err := awaitReadable(src)
		if err != nil {
			if err == io.EOF || errors.Is(err, os.ErrDeadlineExceeded) {
				return c.SendEOF(stream)
			}
			return err
		}
		if avail < n {
			n = avail
		}
		job := &spliceJob{src: src, n: n, done: make(chan error, 1)}
		proto.PutHeader(job.hdr[:], proto.Header{Type: proto.TypeData, Stream: stream, Channel: c.ID, Length: uint32(n)})
		c.spend(stream, n)
		if !c.s.push(outFrame{splice: job}) {
			return ErrClosed
		}
		c.s.cfg.OnActivity()
		select {
		case err := <-job.done:
			if err != nil {
				return err
			}
		case <-c.s.writerGone:
			return ErrClosed
		}
	}
	return c.pumpRead(stream, src)
}

// SendEOF ends stream (idempotent).
func (c *Channel) SendEOF(stream uint8) error {
	c.mu.Lock()
	if c.eofSent[stream] || c.closedLocked() {
		closed := c.closedLocked()
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		return nil
	}
	c.eofSent[stream] = true
	c.mu.Unlock()
	if !c.s.enqueue(proto.Frame(proto.TypeEOF, 0, stream, c.ID, nil)) {
		return ErrClosed
	}
	return nil
}

// SendMsg sends a JSON control message.
func (c *Channel) SendMsg(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > int(c.s.peer.MaxFrame) {
		b, _ = json.Marshal(ErrorMsg("Internal", "reply larger than the peer's max_frame"))
	}
	c.mu.Lock()
	closed := c.closedLocked()
	c.mu.Unlock()
	if closed || !c.s.enqueue(proto.Frame(proto.TypeMsg, 0, 0, c.ID, b)) {
		return ErrClosed
	}
	return nil
}

// Close sends CLOSE once; the channel id retires when both sides have closed.
func (c *Channel) Close() {
	c.mu.Lock()
	if c.closeSent {
		c.mu.Unlock()
		return
	}
	c.closeSent = true
	retire := c.peerClosed
	c.cond.Broadcast()
	c.mu.Unlock()
	c.s.enqueue(proto.Frame(proto.TypeClose, 0, 0, c.ID, nil))
	if retire {
		c.s.retire(c.ID)
	}
}
