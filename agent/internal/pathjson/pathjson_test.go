package pathjson

import (
	"encoding/json"
	"testing"
)

func TestRoundTripsEveryByte(t *testing.T) {
	var raw []byte
	for b := 1; b < 256; b++ {
		raw = append(raw, byte(b))
	}
	raw = append(raw, "é€😀"...)
	q := Quote(string(raw))
	if !json.Valid(q) {
		t.Fatalf("not valid JSON: %s", q)
	}
	back, err := Unquote(q)
	if err != nil || back != string(raw) {
		t.Fatalf("round trip: %q, %v", back, err)
	}
}

func TestReadsPythonSurrogateEscapes(t *testing.T) {
	// json.dumps("caf\udce9/\u00e9/\U0001F600") in Python
	got, err := Unquote([]byte(`"caf\udce9/\u00e9/\ud83d\ude00"`))
	if err != nil || got != "caf\xe9/é/😀" {
		t.Fatalf("got %q, %v", got, err)
	}
	var p Path
	if err := json.Unmarshal([]byte(`"a\nb"`), &p); err != nil || p != "a\nb" {
		t.Fatalf("got %q, %v", p, err)
	}
}

func TestRefusesMalformed(t *testing.T) {
	for _, bad := range []string{`"`, `"abc`, `"\x"`, `"\u12"`, `"\ud800"`, `"\udc00"`, "\"a\x01\""} {
		if _, err := Unquote([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzUnquote(f *testing.F) {
	f.Add([]byte(`"caf\udce9"`))
	f.Add([]byte(`"\ud83d\ude00"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Unquote(b)
		if err != nil {
			return
		}
		again, err := Unquote(Quote(s))
		if err != nil || again != s {
			t.Fatalf("%q: requote gave %q, %v", s, again, err)
		}
	})
}
