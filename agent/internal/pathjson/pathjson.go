// Package pathjson carries file paths through JSON without loss. Linux paths are bytes; JSON strings are Unicode.
// A byte that is not part of valid UTF-8 travels as the lone surrogate U+DC00+byte (escaped "\udcXX"), exactly as
// Python's "surrogateescape" error handler represents it, so a client in Python decodes and re-encodes such a path
// to the same bytes. Everything else is ordinary JSON.
package pathjson

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Path is a file path (raw bytes) that marshals with surrogate escapes.
type Path string

// MarshalJSON quotes the path (see Quote).
func (p Path) MarshalJSON() ([]byte, error) { return Quote(string(p)), nil }

// UnmarshalJSON reads a JSON string (see Unquote).
func (p *Path) UnmarshalJSON(b []byte) error {
	s, err := Unquote(b)
	if err != nil {
		return err
	}
	*p = Path(s)
	return nil
}

const hex = "0123456789abcdef"

// Quote returns s as a JSON string literal, each byte of invalid UTF-8 as "\udcXX".
func Quote(s string) []byte {
	out := make([]byte, 0, len(s)+2)
	out = append(out, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b := s[i]
			out = append(out, '\\', 'u', 'd', 'c', hex[b>>4], hex[b&0xf])
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}

var errSyntax = errors.New("pathjson: not a valid JSON string")

// Unquote parses a JSON string literal; a lone surrogate U+DC80..U+DCFF becomes the byte it stands for.
func Unquote(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", errSyntax
	}
	b = b[1 : len(b)-1]
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c == '"' || c < 0x20 {
			return "", errSyntax
		}
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return "", errSyntax
		}
		switch b[i+1] {
		case '"', '\\', '/':
			out = append(out, b[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			var n int
			var err error
			out, n, err = unicodeEscape(out, b[i:])
			if err != nil {
				return "", err
			}
			i += n
			continue
		default:
			return "", errSyntax
		}
		i += 2
	}
	return string(out), nil
}

// unicodeEscape appends what the "\uXXXX" (or surrogate pair) at the start of b stands for; returns the bytes used.
func unicodeEscape(out []byte, b []byte) ([]byte, int, error) {
	r1, ok := hex4(b)
	if !ok {
		return out, 0, errSyntax
	}
	if utf16.IsSurrogate(r1) {
		if r1 < 0xdc00 { // a high surrogate: a pair, or not a path byte at all
			if r2, ok := hex4(b[6:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
				return utf8.AppendRune(out, utf16.DecodeRune(r1, r2)), 12, nil
			}
			return out, 0, errSyntax
		}
		if r1 >= 0xdc80 && r1 <= 0xdcff {
			return append(out, byte(r1-0xdc00)), 6, nil
		}
		return out, 0, errSyntax
	}
	return utf8.AppendRune(out, r1), 6, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[2:6]), 16, 32)
	return rune(v), err == nil
}
