package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"sandboxcore/agent/internal/fsops"
	"sandboxcore/agent/internal/mux"
	"sandboxcore/agent/internal/pathjson"
	"sandboxcore/agent/internal/proto"
	"sandboxcore/agent/internal/watch"
)

// defaultMaxRead is the read size cap when the request names none (the fs-tools mock's 5 GiB).
const defaultMaxRead = 5 << 30

type fsReq struct {
	Op        string        `json:"op"`
	Path      pathjson.Path `json:"path"`
	Parents   bool          `json:"parents"`
	Recursive bool          `json:"recursive"`
	MaxSize   *int64        `json:"max_size"`
	Filter    []string      `json:"filter"`
}

func (s *Server) failErr(ch *mux.Channel, err error) {
	var fe *fsops.Error
	if errors.As(err, &fe) {
		s.fail(ch, fe.Kind, fe.Msg)
		return
	}
	if errors.Is(err, mux.ErrClosed) {
		ch.Close()
		return
	}
	s.fail(ch, "Io", err.Error())
}

func (s *Server) fs(ch *mux.Channel, op string, req []byte) {
	var r fsReq
	if err := decode(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", op+" request: "+err.Error())
		return
	}
	if err := fsops.CheckPath(string(r.Path)); err != nil {
		s.failErr(ch, err)
		return
	}
	s.Touch()
	switch op {
	case "stat":
		e, err := fsops.Stat(string(r.Path))
		if err != nil {
			s.failErr(ch, err)
			return
		}
		s.reply(ch, map[string]any{"t": "result", "entry": e})
	case "list":
		s.list(ch, string(r.Path))
	case "mkdir":
		s.done(ch, fsops.Mkdir(string(r.Path), r.Parents))
	case "remove":
		s.done(ch, fsops.Remove(string(r.Path), r.Recursive))
	case "read":
		s.read(ch, &r)
	case "write":
		s.write(ch, string(r.Path))
	}
}

func (s *Server) done(ch *mux.Channel, err error) {
	if err != nil {
		s.failErr(ch, err)
		return
	}
	s.reply(ch, map[string]any{"t": "result"})
}

// list streams one JSON entry per line on stdout, then EOF and a result with the count.
func (s *Server) list(ch *mux.Channel, path string) {
	n := 0
	err := fsops.List(path, func(e fsops.Entry) error {
		b, _ := json.Marshal(e)
		n++
		return ch.Send(proto.StreamStdout, append(b, '\n'))
	})
	if err != nil {
		s.failErr(ch, err)
		return
	}
	_ = ch.SendEOF(proto.StreamStdout)
	s.reply(ch, map[string]any{"t": "result", "count": n})
}

var errTooLarge = errors.New("file grew past the size limit")

type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

func (s *Server) read(ch *mux.Channel, r *fsReq) {
	max := int64(defaultMaxRead)
	if r.MaxSize != nil {
		if *r.MaxSize < 0 {
			s.fail(ch, "InvalidArgument", "max_size must not be negative")
			return
		}
		max = *r.MaxSize
	}
	f, size, err := fsops.OpenRead(string(r.Path), max)
	if err != nil {
		s.failErr(ch, err)
		return
	}
	defer f.Close()
	_ = ch.SendMsg(map[string]any{"t": "started", "size": size})
	cr := &capReader{r: f, left: max}
	if err := ch.Pump(proto.StreamStdout, cr); err != nil {
		if errors.Is(err, errTooLarge) {
			s.fail(ch, "FileTooLarge", fmt.Sprintf("file is larger than the limit of %d bytes", max))
			return
		}
		s.failErr(ch, err)
		return
	}
	s.reply(ch, map[string]any{"t": "result", "size": max - cr.left})
}

// write streams the channel's stdin into the file; the result is sent after EOF and a successful close.
func (s *Server) write(ch *mux.Channel, path string) {
	f, err := fsops.OpenWrite(path)
	if err != nil {
		s.failErr(ch, err)
		return
	}
	_ = ch.SendMsg(map[string]any{"t": "started"})
	var n int64
	for {
		b, err := ch.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			ch.Close()
			return
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			s.failErr(ch, fsopsWrap(err))
			return
		}
		n += int64(len(b))
	}
	if err := f.Close(); err != nil {
		s.failErr(ch, fsopsWrap(err))
		return
	}
	s.reply(ch, map[string]any{"t": "result", "size": n})
}

func fsopsWrap(err error) error { return fsops.Wrap(err) }

// watch streams events as JSON lines until the client closes the channel.
func (s *Server) watch(ch *mux.Channel, req []byte) {
	var r fsReq
	if err := decode(req, &r); err != nil {
		s.fail(ch, "InvalidArgument", "watch request: "+err.Error())
		return
	}
	if err := fsops.CheckPath(string(r.Path)); err != nil {
		s.failErr(ch, err)
		return
	}
	for _, f := range r.Filter {
		switch f {
		case "Unknown", "Access", "Create", "Modify", "Remove":
		default:
			s.fail(ch, "InvalidArgument", "unknown event type "+jsonString(f)+" (allowed: Unknown, Access, Create, Modify, Remove)")
			return
		}
	}
	// JSON null or an absent filter decodes to nil (every event), [] to an empty filter (no events).
	sub, err := s.hub.Watch(watch.Clean(string(r.Path)), r.Recursive, r.Filter)
	if err != nil {
		var we *watch.WatchError
		if errors.As(err, &we) {
			s.fail(ch, we.Kind, we.Msg)
		} else {
			s.fail(ch, "Io", err.Error())
		}
		return
	}
	_ = ch.SendMsg(map[string]any{"t": "started"})
	go func() { <-ch.Done(); sub.Close() }()
	for {
		ev, ok := sub.Next()
		if !ok {
			break
		}
		b, _ := json.Marshal(ev)
		if ch.Send(proto.StreamStdout, append(b, '\n')) != nil {
			break
		}
	}
	sub.Close()
	ch.Close()
}
