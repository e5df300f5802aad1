package proto

import (
	"bytes"
	"io"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	h := Hello{Version: Version, MaxFrame: 65536, Window: 1 << 20, MaxChannels: 256, Features: FeatExec | FeatWatch}
	got, err := DecodeHello(EncodeHello(h))
	if err != nil || got != h {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func TestHelloRejects(t *testing.T) {
	good := EncodeHello(Hello{Version: Version, MaxFrame: 65536, Window: 1 << 20, MaxChannels: 1})
	cases := map[string]func(b []byte){
		"magic":    func(b []byte) { b[0] = 'X' },
		"version":  func(b []byte) { b[9] = 2 },
		"reserved": func(b []byte) { b[10] = 1 },
		"frame":    func(b []byte) { copy(b[12:16], []byte{0, 0, 0, 1}) },
		"window":   func(b []byte) { copy(b[16:20], []byte{0x7f, 0, 0, 0}) },
		"channels": func(b []byte) { copy(b[20:24], []byte{0, 0, 0, 0}) },
	}
	for name, mutate := range cases {
		b := append([]byte(nil), good...)
		mutate(b)
		if _, err := DecodeHello(b); !IsProtocolError(err) {
			t.Errorf("%s: want a protocol error, got %v", name, err)
		}
	}
}

func TestReaderRejectsOversizeBeforeAllocating(t *testing.T) {
	var b [HeaderSize]byte
	PutHeader(b[:], Header{Type: TypeData, Channel: 1, Length: 1 << 31})
	r := NewReader(bytes.NewReader(b[:]), 65536)
	if _, _, err := r.Next(); !IsProtocolError(err) {
		t.Fatalf("want a protocol error, got %v", err)
	}
	if cap(r.buf) != 0 {
		t.Fatalf("allocated %d bytes for a rejected frame", cap(r.buf))
	}
}

func TestReaderShapes(t *testing.T) {
	bad := []Header{
		{Type: 0, Channel: 1},
		{Type: 9, Channel: 1},
		{Type: TypeData, Channel: 0},
		{Type: TypePing, Channel: 1, Length: 8},
		{Type: TypePing, Channel: 0, Length: 7},
		{Type: TypeWindow, Channel: 1, Length: 3},
		{Type: TypeMsg, Channel: 1, Length: 0},
		{Type: TypeMsg, Channel: 1, Stream: 1, Length: 2},
		{Type: TypeData, Channel: 1, Stream: 3},
		{Type: TypeData, Channel: 1, Flags: 1},
		{Type: TypeClose, Channel: 1, Length: 1},
	}
	for _, h := range bad {
		var b [HeaderSize]byte
		PutHeader(b[:], h)
		if _, err := DecodeHeader(b[:], 65536); !IsProtocolError(err) {
			t.Errorf("%+v: want a protocol error, got %v", h, err)
		}
	}
}

func TestReaderSplitsAndEOF(t *testing.T) {
	var stream []byte
	stream = append(stream, Frame(TypeOpen, 0, 0, 1, []byte(`{"op":"info"}`))...)
	stream = append(stream, Frame(TypeData, 0, 0, 1, []byte("abc"))...)
	r := NewReader(bytes.NewReader(stream), 65536)
	h, p, err := r.Next()
	if err != nil || h.Type != TypeOpen || string(p) != `{"op":"info"}` {
		t.Fatalf("first frame: %+v %q %v", h, p, err)
	}
	h, p, err = r.Next()
	if err != nil || h.Type != TypeData || string(p) != "abc" {
		t.Fatalf("second frame: %+v %q %v", h, p, err)
	}
	if _, _, err = r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	cut := NewReader(bytes.NewReader(stream[:HeaderSize+2]), 65536)
	if _, _, err := cut.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("want ErrUnexpectedEOF, got %v", err)
	}
}
