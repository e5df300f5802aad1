// Package mux multiplexes channels over one byte stream with per-stream credit flow control.
//
// The agent side: the peer (the client) opens channels; a Handler serves each one. The reader goroutine never
// blocks on a slow channel: inbound data is accepted only within the credit this side granted, so every
// channel's buffer stays bounded, and outbound data waits for the peer's credit instead of queueing.
package mux

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"sandboxcore/agent/internal/proto"
)

// Handler serves one channel: req is the OPEN payload. It must call ch.Close when done.
type Handler func(ch *Channel, req []byte)

// Config configures a session.
type Config struct {
	Local      proto.Hello // what this side announces
	Handler    Handler
	OnActivity func() // called on every opened channel and every data frame; must be cheap
}

// ErrClosed is returned by channel operations once the channel or the session is closed.
var ErrClosed = errors.New("channel closed")

// Session is one multiplexed connection.
type Session struct {
	cfg        Config
	peer       proto.Hello
	wq         chan outFrame
	out        io.Writer     // the session's output, paced when it is a pipe
	spliceTo   *pacedPipe    // the output when pumps may splice into it (see splice.go), else nil
	noSplice   atomic.Bool   // set once the kernel refused a splice: pumps read and copy instead
	writerGone chan struct{} // closed when the writer stops taking frames
	mu         sync.Mutex
	chans      map[uint32]*Channel
	lastID     uint32
	nopen      int
	dead       bool
	deadCh     chan struct{}
	writerW    sync.WaitGroup
}

// Serve runs a session on in/out until the peer closes its side (nil), sends GOAWAY (nil), or violates the
// protocol (a *proto.ProtocolError, after a GOAWAY was sent). Running handlers see ErrClosed afterwards.
func Serve(in io.Reader, out io.Writer, cfg Config) error {
	s := &Session{cfg: cfg, wq: make(chan outFrame, 512), chans: map[uint32]*Channel{}, deadCh: make(chan struct{}),
		out: pacedOutput(out), writerGone: make(chan struct{})}
	s.spliceTo, _ = s.out.(*pacedPipe)
	if s.cfg.OnActivity == nil {
		s.cfg.OnActivity = func() {}
	}
	s.writerW.Add(1)
	go s.writer()
	s.enqueue(proto.EncodeHello(cfg.Local))
	err := s.readLoop(bufio.NewReaderSize(in, 256<<10))
	if proto.IsProtocolError(err) {
		s.enqueue(proto.Frame(proto.TypeGoAway, 0, 0, 0, proto.GoAwayPayload(proto.GoAwayProtocol, err.Error())))
	}
	s.shutdown()
	s.writerW.Wait()
	if err == io.EOF {
		return nil
	}
	return err
}

// Peer returns the peer's HELLO (valid once Serve has read it).
func (s *Session) Peer() proto.Hello { return s.peer }

// outFrame is one item of the writer's queue: a frame's bytes, or a frame whose payload is spliced.
type outFrame struct {
	b      []byte
	splice *spliceJob
}

func (s *Session) writer() {
	defer s.writerW.Done()
	defer close(s.writerGone)
	w := bufio.NewWriterSize(s.out, 256<<10)
	write := func(f outFrame) bool {
		var err error
		if f.splice != nil {
			err = s.writeSpliced(w, f.splice)
			f.splice.done <- err
		} else {
			_, err = w.Write(f.b)
			putBuf(f.b)
		}
		if err == nil && len(s.wq) == 0 {
			err = w.Flush()
		}
		return err == nil
	}
	for {
		select {
		case f := <-s.wq:
			if !write(f) {
				s.shutdown()
				return
			}
		case <-s.deadCh:
			// wq is never closed (handlers may still enqueue); write what is queued now, then stop.
			for {
				select {
				case f := <-s.wq:
					if !write(f) {
						return
					}
				default:
					_ = w.Flush()
					return
				}
			}
		}
	}
}

// writeSpliced writes job's header, then moves its payload from the source pipe (or copies it, see splice.go).
func (s *Session) writeSpliced(w *bufio.Writer, job *spliceJob) error {
	p := s.spliceTo
	p.awaitRoom(w.Buffered() + len(job.hdr) + job.n)
	if _, err := w.Write(job.hdr[:]); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	err := p.spliceFrom(job.src, job.n)
	if err == errSpliceRefused {
		s.noSplice.Store(true)
		err = p.copyFrom(job.src, job.n)
	}
	return err
}

// enqueue hands a complete frame to the writer; false once the session is dead.
func (s *Session) enqueue(f []byte) bool { return s.push(outFrame{b: f}) }

func (s *Session) push(f outFrame) bool {
	select {
	case <-s.deadCh:
		return false
	default:
	}
	select {
	case s.wq <- f:
		return true
	case <-s.deadCh:
		return false
	}
}

func (s *Session) shutdown() {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return
	}
	s.dead = true
	close(s.deadCh)
	chans := make([]*Channel, 0, len(s.chans))
	for _, c := range s.chans {
		chans = append(chans, c)
	}
	s.mu.Unlock()
	for _, c := range chans {
		c.markDead()
	}
}

func (s *Session) readLoop(r io.Reader) error {
	peer, err := proto.ReadHello(r)
	if err != nil {
		return err
	}
	s.peer = peer
	fr := proto.NewReader(r, s.cfg.Local.MaxFrame)
	for {
		h, p, err := fr.Next()
		if err != nil {
			return err
		}
		if err := s.dispatch(h, p); err != nil {
			if err == errGoAway {
				return nil
			}
			return err
		}
	}
}

var errGoAway = errors.New("peer sent goaway")

func (s *Session) dispatch(h proto.Header, p []byte) error {
	switch h.Type {
	case proto.TypePing:
		if h.Flags&proto.FlagAck == 0 {
			s.enqueue(proto.Frame(proto.TypePing, proto.FlagAck, 0, 0, p))
		}
		return nil
	case proto.TypeGoAway:
		return errGoAway
	case proto.TypeOpen:
		return s.open(h.Channel, p)
	}
	c, err := s.lookup(h.Channel)
	if err != nil {
		return err
	}
	return c.receive(h, p)
}

func (s *Session) lookup(id uint32) (*Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.chans[id]; ok {
		return c, nil
	}
	if id > s.lastID {
		return nil, proto.Errorf("frame on channel %d, which was never opened", id)
	}
	return nil, proto.Errorf("frame on channel %d, which is closed", id)
}

func (s *Session) open(id uint32, req []byte) error {
	s.mu.Lock()
	if id <= s.lastID {
		s.mu.Unlock()
		return proto.Errorf("open of channel %d: ids must increase (last was %d)", id, s.lastID)
	}
	s.lastID = id
	c := newChannel(s, id)
	s.chans[id] = c
	s.nopen++
	full := s.nopen > int(s.cfg.Local.MaxChannels)
	s.mu.Unlock()
	s.cfg.OnActivity()
	if full {
		go func() {
			_ = c.SendMsg(ErrorMsg("TooManyChannels", fmt.Sprintf("at most %d channels may be open", s.cfg.Local.MaxChannels)))
			c.Close()
		}()
		return nil
	}
	go s.cfg.Handler(c, append([]byte(nil), req...))
	return nil
}

func (s *Session) retire(id uint32) {
	s.mu.Lock()
	if _, ok := s.chans[id]; ok {
		delete(s.chans, id)
		s.nopen--
	}
	s.mu.Unlock()
}

// ErrorMsg is the terminal error message of a channel.
func ErrorMsg(kind, message string) map[string]any {
	return map[string]any{"t": "error", "kind": kind, "message": message}
}

func decodeWindow(p []byte) uint32 { return binary.BigEndian.Uint32(p) }

const (
	smallBuf = 64 << 10
	bigBuf   = 256 << 10
)

// Buffers of frames are pooled by size: the writer returns every frame it wrote.
var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, proto.HeaderSize+smallBuf); return &b }}
	bigPool   = sync.Pool{New: func() any { b := make([]byte, proto.HeaderSize+bigBuf); return &b }}
)

// getBuf returns a frame buffer with room for a payload of n bytes.
func getBuf(n int) []byte {
	switch {
	case n <= smallBuf:
		return (*smallPool.Get().(*[]byte))[:proto.HeaderSize+n]
	case n <= bigBuf:
		return (*bigPool.Get().(*[]byte))[:proto.HeaderSize+n]
	}
	return make([]byte, proto.HeaderSize+n)
}

func putBuf(b []byte) {
	switch cap(b) {
	case proto.HeaderSize + smallBuf:
		b = b[:cap(b)]
		smallPool.Put(&b)
	case proto.HeaderSize + bigBuf:
		b = b[:cap(b)]
		bigPool.Put(&b)
	}
}
