package mux

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"sandboxcore/agent/internal/proto"
)

var clientHello = proto.Hello{Version: proto.Version, MaxFrame: 65536, Window: 8192, MaxChannels: 64}
var agentHello = proto.Hello{Version: proto.Version, MaxFrame: 65536, Window: 8192, MaxChannels: 4}

// peer is a test client speaking to a Serve running in a goroutine.
type peer struct {
	t    *testing.T
	w    *io.PipeWriter
	r    *proto.Reader
	done chan error
}

func start(t *testing.T, h Handler) *peer {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &peer{t: t, w: inW, done: make(chan error, 1)}
	go func() {
		err := Serve(inR, outW, Config{Local: agentHello, Handler: h})
		outW.Close()
		p.done <- err
	}()
	if _, err := inW.Write(proto.EncodeHello(clientHello)); err != nil {
		t.Fatal(err)
	}
	if _, err := proto.ReadHello(outR); err != nil {
		t.Fatal(err)
	}
	p.r = proto.NewReader(outR, clientHello.MaxFrame)
	return p
}

func (p *peer) send(typ, stream uint8, ch uint32, payload []byte) {
	if _, err := p.w.Write(proto.Frame(typ, 0, stream, ch, payload)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) next() (proto.Header, []byte) {
	h, b, err := p.r.Next()
	if err != nil {
		p.t.Fatalf("reading a frame: %v", err)
	}
	return h, append([]byte(nil), b...)
}

func echoHandler(ch *Channel, req []byte) {
	defer ch.Close()
	for {
		b, err := ch.Read()
		if err != nil {
			_ = ch.SendEOF(proto.StreamStdout)
			_ = ch.SendMsg(map[string]any{"t": "result"})
			return
		}
		if ch.Send(proto.StreamStdout, b) != nil {
			return
		}
	}
}

func TestEchoAndCloseHandshake(t *testing.T) {
	p := start(t, echoHandler)
	p.send(proto.TypeOpen, 0, 1, []byte(`{}`))
	p.send(proto.TypeData, 0, 1, []byte("ping"))
	p.send(proto.TypeEOF, 0, 1, nil)
	var got []string
	for {
		h, b := p.next()
		got = append(got, string(rune('0'+h.Type))+":"+string(b))
		if h.Type == proto.TypeClose {
			break
		}
	}
	want := []string{"2:ping", "4:", `5:{"t":"result"}`, "6:"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("frames %q, want %q", got, want)
	}
	p.send(proto.TypeClose, 0, 1, nil)
	p.send(proto.TypeOpen, 0, 1, []byte(`{}`)) // reuse of a retired id
	h, b := p.next()
	if h.Type != proto.TypeGoAway || !bytes.Contains(b, []byte("ids must increase")) {
		t.Fatalf("want GOAWAY for a reused id, got %+v %q", h, b)
	}
	if err := <-p.done; !proto.IsProtocolError(err) {
		t.Fatalf("Serve returned %v", err)
	}
}

func TestOverrunIsAProtocolError(t *testing.T) {
	block := make(chan struct{})
	p := start(t, func(ch *Channel, req []byte) { <-block; ch.Close() })
	defer close(block)
	p.send(proto.TypeOpen, 0, 1, []byte(`{}`))
	p.send(proto.TypeData, 0, 1, make([]byte, agentHello.Window))
	p.send(proto.TypeData, 0, 1, []byte("x"))
	h, b := p.next()
	if h.Type != proto.TypeGoAway || !bytes.Contains(b, []byte("overran")) {
		t.Fatalf("want GOAWAY(overrun), got %+v %q", h, b)
	}
}

func TestSlowChannelDoesNotStallOthers(t *testing.T) {
	p := start(t, func(ch *Channel, req []byte) {
		defer ch.Close()
		if string(req) == `"flood"` {
			for ch.Send(proto.StreamStdout, make([]byte, 4096)) == nil {
			}
			return
		}
		_ = ch.SendMsg(map[string]any{"t": "result"})
	})
	p.send(proto.TypeOpen, 0, 1, []byte(`"flood"`))
	var flooded int
	for flooded < int(clientHello.Window) {
		h, b := p.next()
		if h.Channel == 1 && h.Type == proto.TypeData {
			flooded += len(b)
		}
	}
	// channel 1 is out of credit now; channel 2 must still be served
	p.send(proto.TypeOpen, 0, 2, []byte(`"quick"`))
	deadline := time.After(5 * time.Second)
	got := make(chan proto.Header, 1)
	go func() {
		for {
			h, _, err := p.r.Next()
			if err != nil || h.Channel == 2 {
				got <- h
				return
			}
		}
	}()
	select {
	case h := <-got:
		if h.Type != proto.TypeMsg {
			t.Fatalf("channel 2 got %+v", h)
		}
	case <-deadline:
		t.Fatal("channel 2 stalled behind channel 1")
	}
	if flooded != int(clientHello.Window) {
		t.Fatalf("agent sent %d bytes on a %d-byte window", flooded, clientHello.Window)
	}
}

func TestChannelCap(t *testing.T) {
	block := make(chan struct{})
	p := start(t, func(ch *Channel, req []byte) { <-block; ch.Close() })
	defer close(block)
	for id := uint32(1); id <= agentHello.MaxChannels+1; id++ {
		p.send(proto.TypeOpen, 0, id, []byte(`{}`))
	}
	h, b := p.next()
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	if h.Channel != agentHello.MaxChannels+1 || m["kind"] != "TooManyChannels" {
		t.Fatalf("want TooManyChannels on the extra channel, got %+v %q", h, b)
	}
}

func TestPingAndCleanEOF(t *testing.T) {
	p := start(t, echoHandler)
	if _, err := p.w.Write(proto.Frame(proto.TypePing, 0, 0, 0, []byte("12345678"))); err != nil {
		t.Fatal(err)
	}
	h, b := p.next()
	if h.Type != proto.TypePing || h.Flags != proto.FlagAck || string(b) != "12345678" {
		t.Fatalf("ping reply %+v %q", h, b)
	}
	p.w.Close()
	if err := <-p.done; err != nil {
		t.Fatalf("clean EOF gave %v", err)
	}
}

// With OrderStdinAfterMsgs, stdin sent after a message reaches the reader only once that message was handled,
// however the two reading goroutines are scheduled.
func TestOrderedStdinWaitsForEarlierMessages(t *testing.T) {
	var order []string
	var mu sync.Mutex
	record := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	handled := make(chan struct{})
	p := start(t, func(ch *Channel, req []byte) {
		ch.OrderStdinAfterMsgs()
		go func() {
			m, ok := ch.NextMsg()
			if !ok {
				return
			}
			time.Sleep(50 * time.Millisecond) // a slow handler: stdin must still wait for it
			record("msg:" + string(m))
			ch.MsgHandled()
			close(handled)
		}()
		for {
			b, err := ch.Read()
			if err != nil {
				record("eof")
				break
			}
			record("data:" + string(b))
		}
		_ = ch.SendMsg(map[string]any{"t": "result"})
		ch.Close()
	})
	p.send(proto.TypeOpen, 0, 1, []byte(`{}`))
	p.send(proto.TypeMsg, 0, 1, []byte(`{"t":"resize"}`))
	p.send(proto.TypeData, 0, 1, []byte("go"))
	p.send(proto.TypeEOF, 0, 1, nil)
	for {
		if h, _ := p.next(); h.Type == proto.TypeClose {
			break
		}
	}
	<-handled
	mu.Lock()
	defer mu.Unlock()
	want := `msg:{"t":"resize"}|data:go|eof`
	if got := strings.Join(order, "|"); got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
}
