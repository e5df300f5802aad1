package proto

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the HELLO and frame decoders: they must never panic, never return a
// payload longer than the limit, and re-encoding an accepted frame must give back its bytes.
func FuzzDecode(f *testing.F) {
	f.Add(EncodeHello(Hello{Version: Version, MaxFrame: 65536, Window: 1 << 20, MaxChannels: 8}))
	f.Add(Frame(TypeOpen, 0, 0, 1, []byte(`{"op":"exec","argv":["true"]}`)))
	f.Add(Frame(TypeData, 0, StreamStdin, 3, []byte("hello")))
	f.Add(Frame(TypeWindow, 0, StreamStdout, 3, WindowPayload(4096)))
	f.Add(Frame(TypePing, FlagAck, 0, 0, make([]byte, 8)))
	f.Add(Frame(TypeGoAway, 0, 0, 0, GoAwayPayload(1, "bye")))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= HelloSize {
			if h, err := DecodeHello(data[:HelloSize]); err == nil && !bytes.Equal(EncodeHello(h), data[:HelloSize]) {
				t.Fatalf("accepted HELLO does not re-encode to its bytes")
			}
		}
		const max = 4096
		r := NewReader(bytes.NewReader(data), max)
		for {
			h, p, err := r.Next()
			if err != nil {
				return
			}
			if len(p) > max || uint32(len(p)) != h.Length {
				t.Fatalf("payload of %d bytes for header length %d", len(p), h.Length)
			}
			if !bytes.HasPrefix(data, Frame(h.Type, h.Flags, h.Stream, h.Channel, p)) {
				t.Fatalf("accepted frame does not re-encode to its bytes")
			}
			data = data[HeaderSize+len(p):]
		}
	})
}
