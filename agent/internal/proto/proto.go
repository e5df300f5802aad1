// Package proto is the wire format of the sandbox agent: the HELLO preamble and 12-byte-header frames.
//
// Everything read from the peer is validated here before it is used: the magic and version of HELLO, every
// header field, and the payload length (checked against the negotiated maximum before any allocation).
// PROTOCOL.md is the specification; this package is its executable form.
package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic opens every HELLO.
var Magic = [8]byte{'S', 'B', 'X', 'A', 'G', 'E', 'N', 'T'}

const (
	// Version is the only protocol version this agent speaks.
	Version = 1
	// HelloSize is the fixed size of a HELLO.
	HelloSize = 32
	// HeaderSize is the fixed size of a frame header.
	HeaderSize = 12
	// MinFrame and MaxFrameLimit bound the max_frame a peer may announce.
	MinFrame      = 1024
	MaxFrameLimit = 1 << 20
	// MinWindow and MaxWindowLimit bound the initial window a peer may announce.
	MinWindow      = 4096
	MaxWindowLimit = 1 << 30
	// MaxCredit bounds the credit a window update may accumulate.
	MaxCredit = 1<<31 - 1
)

// Feature bits announced in HELLO.
const (
	FeatExec     = 1 << 0
	FeatPty      = 1 << 1
	FeatFS       = 1 << 2
	FeatWatch    = 1 << 3
	FeatActivity = 1 << 4
	FeatTreeKill = 1 << 5
	// FeatPathBytes: paths carry bytes that are not UTF-8 as lone surrogates (package pathjson); the kill op and
	// the sandbox-wide activity census are served.
	FeatPathBytes = 1 << 6
)

// Frame types.
const (
	TypeOpen   = 1 // client -> agent: JSON request, creates the channel
	TypeData   = 2 // bytes on a stream; consumes credit
	TypeWindow = 3 // u32 credit increment for a stream
	TypeEOF    = 4 // no more data on a stream
	TypeMsg    = 5 // JSON control message on a channel
	TypeClose  = 6 // the sender sends nothing more on the channel; echoed
	TypePing   = 7 // channel 0, 8-byte opaque payload; FlagAck marks the reply
	TypeGoAway = 8 // channel 0, u32 code + UTF-8 reason; the sender then closes
	typeMax    = 8
)

// FlagAck marks a ping reply; it is the only flag.
const FlagAck = 1

// Streams of a channel.
const (
	StreamStdin  = 0 // client -> agent
	StreamStdout = 1 // agent -> client (also fs read data, list entries, watch events)
	StreamStderr = 2 // agent -> client
	NumStreams   = 3
)

// GoAway codes.
const (
	GoAwayNormal   = 0
	GoAwayProtocol = 1
	GoAwayInternal = 2
)

// Hello is the preamble each side sends first.
type Hello struct {
	Version     uint16
	MaxFrame    uint32 // the largest payload the sender accepts
	Window      uint32 // the credit the sender grants each stream of each channel initially
	MaxChannels uint32 // the number of channels the sender keeps open at once
	Features    uint64
}

// ProtocolError is a violation by the peer; the session ends with GOAWAY(GoAwayProtocol).
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "protocol error: " + e.Reason }

// Errorf builds a ProtocolError.
func Errorf(format string, args ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...)}
}

// IsProtocolError reports whether err is (or wraps) a ProtocolError.
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// EncodeHello returns the 32 bytes of h.
func EncodeHello(h Hello) []byte {
	b := make([]byte, HelloSize)
	copy(b[0:8], Magic[:])
	binary.BigEndian.PutUint16(b[8:10], h.Version)
	// b[10:12] reserved, zero
	binary.BigEndian.PutUint32(b[12:16], h.MaxFrame)
	binary.BigEndian.PutUint32(b[16:20], h.Window)
	binary.BigEndian.PutUint32(b[20:24], h.MaxChannels)
	binary.BigEndian.PutUint64(b[24:32], h.Features)
	return b
}

// DecodeHello parses and validates a peer's HELLO.
func DecodeHello(b []byte) (Hello, error) {
	if len(b) != HelloSize {
		return Hello{}, Errorf("hello is %d bytes, want %d", len(b), HelloSize)
	}
	if !bytes.Equal(b[0:8], Magic[:]) {
		return Hello{}, Errorf("bad magic %q", b[0:8])
	}
	h := Hello{
		Version:     binary.BigEndian.Uint16(b[8:10]),
		MaxFrame:    binary.BigEndian.Uint32(b[12:16]),
		Window:      binary.BigEndian.Uint32(b[16:20]),
		MaxChannels: binary.BigEndian.Uint32(b[20:24]),
		Features:    binary.BigEndian.Uint64(b[24:32]),
	}
	if h.Version != Version {
		return h, Errorf("version %d not supported (this agent speaks %d)", h.Version, Version)
	}
	if b[10] != 0 || b[11] != 0 {
		return h, Errorf("hello reserved bytes are not zero")
	}
	if h.MaxFrame < MinFrame || h.MaxFrame > MaxFrameLimit {
		return h, Errorf("max_frame %d outside [%d, %d]", h.MaxFrame, MinFrame, MaxFrameLimit)
	}
	if h.Window < MinWindow || h.Window > MaxWindowLimit {
		return h, Errorf("window %d outside [%d, %d]", h.Window, MinWindow, MaxWindowLimit)
	}
	if h.MaxChannels == 0 {
		return h, Errorf("max_channels is 0")
	}
	return h, nil
}

// ReadHello reads and validates a HELLO from r.
func ReadHello(r io.Reader) (Hello, error) {
	b := make([]byte, HelloSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return Hello{}, err
	}
	return DecodeHello(b)
}

// Header is a decoded frame header.
type Header struct {
	Type    uint8
	Flags   uint8
	Stream  uint8
	Channel uint32
	Length  uint32
}

// PutHeader writes h into b[:HeaderSize].
func PutHeader(b []byte, h Header) {
	b[0] = h.Type
	b[1] = h.Flags
	b[2] = h.Stream
	b[3] = 0
	binary.BigEndian.PutUint32(b[4:8], h.Channel)
	binary.BigEndian.PutUint32(b[8:12], h.Length)
}

// DecodeHeader parses and validates a header against maxFrame; it allocates nothing.
func DecodeHeader(b []byte, maxFrame uint32) (Header, error) {
	h := Header{
		Type:    b[0],
		Flags:   b[1],
		Stream:  b[2],
		Channel: binary.BigEndian.Uint32(b[4:8]),
		Length:  binary.BigEndian.Uint32(b[8:12]),
	}
	if b[3] != 0 {
		return h, Errorf("reserved header byte is %d", b[3])
	}
	if h.Type == 0 || h.Type > typeMax {
		return h, Errorf("unknown frame type %d", h.Type)
	}
	if h.Length > maxFrame {
		return h, Errorf("frame of %d bytes exceeds max_frame %d", h.Length, maxFrame)
	}
	if h.Flags != 0 && !(h.Type == TypePing && h.Flags == FlagAck) {
		return h, Errorf("flags %#x not allowed on frame type %d", h.Flags, h.Type)
	}
	if h.Stream >= NumStreams {
		return h, Errorf("stream %d does not exist", h.Stream)
	}
	return h, checkShape(h)
}

// checkShape validates the fields that depend on the frame type.
func checkShape(h Header) error {
	session := h.Type == TypePing || h.Type == TypeGoAway
	if session != (h.Channel == 0) {
		if session {
			return Errorf("frame type %d on channel %d (must be 0)", h.Type, h.Channel)
		}
		return Errorf("frame type %d on channel 0", h.Type)
	}
	streamed := h.Type == TypeData || h.Type == TypeWindow || h.Type == TypeEOF
	if !streamed && h.Stream != 0 {
		return Errorf("frame type %d carries stream %d", h.Type, h.Stream)
	}
	switch h.Type {
	case TypeWindow:
		if h.Length != 4 {
			return Errorf("window frame of %d bytes (want 4)", h.Length)
		}
	case TypePing:
		if h.Length != 8 {
			return Errorf("ping frame of %d bytes (want 8)", h.Length)
		}
	case TypeGoAway:
		if h.Length < 4 {
			return Errorf("goaway frame of %d bytes (want >= 4)", h.Length)
		}
	case TypeEOF, TypeClose:
		if h.Length != 0 {
			return Errorf("frame type %d with a %d-byte payload", h.Type, h.Length)
		}
	case TypeOpen, TypeMsg:
		if h.Length == 0 {
			return Errorf("frame type %d without a payload", h.Type)
		}
	}
	return nil
}

// Reader decodes frames from a byte stream; the payload slice is valid until the next call.
type Reader struct {
	r        io.Reader
	maxFrame uint32
	hdr      [HeaderSize]byte
	buf      []byte
}

// NewReader reads frames of at most maxFrame payload bytes from r.
func NewReader(r io.Reader, maxFrame uint32) *Reader {
	return &Reader{r: r, maxFrame: maxFrame}
}

// Next reads one frame. io.EOF means a clean end between frames; io.ErrUnexpectedEOF a cut frame.
func (fr *Reader) Next() (Header, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return Header{}, nil, err
	}
	h, err := DecodeHeader(fr.hdr[:], fr.maxFrame)
	if err != nil {
		return h, nil, err
	}
	if uint32(cap(fr.buf)) < h.Length {
		fr.buf = make([]byte, h.Length)
	}
	p := fr.buf[:h.Length]
	if _, err := io.ReadFull(fr.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, p, nil
}

// Frame returns a new buffer holding header h (with h.Length = len(payload)) followed by payload.
func Frame(typ, flags, stream uint8, channel uint32, payload []byte) []byte {
	b := make([]byte, HeaderSize+len(payload))
	PutHeader(b, Header{Type: typ, Flags: flags, Stream: stream, Channel: channel, Length: uint32(len(payload))})
	copy(b[HeaderSize:], payload)
	return b
}

// WindowPayload encodes a credit increment.
func WindowPayload(delta uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, delta)
	return b
}

// GoAwayPayload encodes a GOAWAY code and reason.
func GoAwayPayload(code uint32, reason string) []byte {
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	b := make([]byte, 4+len(reason))
	binary.BigEndian.PutUint32(b, code)
	copy(b[4:], reason)
	return b
}
