package mux

import (
	"bytes"
	"io"
	"testing"
	"time"

	"sandboxcore/agent/internal/proto"
)

// FuzzSession runs a whole session on arbitrary bytes after a valid HELLO: it must end (clean or with a
// protocol error), never panic, and never hang.
func FuzzSession(f *testing.F) {
	f.Add(proto.Frame(proto.TypeOpen, 0, 0, 1, []byte(`{}`)))
	f.Add(append(proto.Frame(proto.TypeOpen, 0, 0, 1, []byte(`{}`)), proto.Frame(proto.TypeData, 0, 0, 1, []byte("x"))...))
	f.Add(append(proto.Frame(proto.TypeOpen, 0, 0, 1, []byte(`{}`)), proto.Frame(proto.TypeClose, 0, 0, 1, nil)...))
	f.Add(proto.Frame(proto.TypeWindow, 0, 1, 1, proto.WindowPayload(5)))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := io.MultiReader(bytes.NewReader(proto.EncodeHello(clientHello)), bytes.NewReader(data))
		done := make(chan error, 1)
		go func() { done <- Serve(in, io.Discard, Config{Local: agentHello, Handler: echoHandler}) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end")
		}
	})
}
