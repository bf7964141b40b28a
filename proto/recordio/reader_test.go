package recordio

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(b string) string { return strconv.Itoa(len(b)) + "\n" + b }

// readAll returns the frames read until the first error.
func readAll(r *Reader) ([]string, error) {
	var out []string
	for {
		b, err := r.ReadFrame()
		if err != nil {
			return out, err
		}
		out = append(out, string(b))
	}
}

func TestReadFrame(t *testing.T) {
	big := strings.Repeat("x", 3*firstChunk+17) // grows the buffer several times
	for _, tc := range []struct {
		name    string
		in      string
		limit   int
		want    []string
		wantErr func(error) bool
	}{
		{name: "empty stream", in: "", limit: 10, wantErr: isEOF},
		{name: "one frame", in: frame("hello"), limit: 10, want: []string{"hello"}, wantErr: isEOF},
		{name: "two frames", in: frame("hello") + frame("world!"), limit: 10, want: []string{"hello", "world!"}, wantErr: isEOF},
		{name: "zero length skipped", in: "0\n" + frame("a") + "0\n0\n" + frame("b"), limit: 10, want: []string{"a", "b"}, wantErr: isEOF},
		{name: "leading zeros", in: "005\nhello", limit: 10, want: []string{"hello"}, wantErr: isEOF},
		{name: "exactly at limit", in: frame("0123456789"), limit: 10, want: []string{"0123456789"}, wantErr: isEOF},
		{name: "over limit", in: frame("0123456789a"), limit: 10, wantErr: tooLarge(11, 10)},
		{name: "over limit after a good frame", in: frame("ok") + frame("0123456789a"), limit: 10, want: []string{"ok"}, wantErr: tooLarge(11, 10)},
		{name: "hostile length", in: "18446744073709551615\nxx", limit: 64 << 20, wantErr: tooLarge(18446744073709551615, 64<<20)},
		{name: "large frame", in: frame(big) + frame("after"), limit: len(big), want: []string{big, "after"}, wantErr: isEOF},
		{name: "non-digit", in: "1a\nx", limit: 10, wantErr: badLength("1a")},
		{name: "space before length", in: " 1\nx", limit: 10, wantErr: badLength(" ")},
		{name: "carriage return", in: "1\r\nx", limit: 10, wantErr: badLength("1\r")},
		{name: "negative", in: "-1\nx", limit: 10, wantErr: badLength("-")},
		{name: "empty length", in: "\nx", limit: 10, wantErr: badLength("")},
		{name: "overlong digits", in: strings.Repeat("0", 21) + "1\nx", limit: 10, wantErr: badLength(strings.Repeat("0", 21))},
		{name: "over uint64", in: "18446744073709551616\nx", limit: 10, wantErr: badLength("18446744073709551616")},
		{name: "ends inside length", in: "12", limit: 10, wantErr: unexpectedEOF},
		{name: "ends inside frame", in: "5\nhel", limit: 10, wantErr: unexpectedEOF},
		{name: "ends right after length", in: frame("a") + "5\n", limit: 10, want: []string{"a"}, wantErr: unexpectedEOF},
		{name: "trailing newline is a bad length", in: frame("a") + "\n", limit: 10, want: []string{"a"}, wantErr: badLength("")},
	} {
		for _, split := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte at a time", iotest.OneByteReader},
			{"halves", iotest.HalfReader},
			{"EOF with data", iotest.DataErrReader},
		} {
			t.Run(tc.name+"/"+split.name, func(t *testing.T) {
				got, err := readAll(NewReader(split.wrap(strings.NewReader(tc.in)), tc.limit, "--max-event-bytes"))
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Errorf("frames %q, want %q", short(got), short(tc.want))
				}
				if !tc.wantErr(err) {
					t.Errorf("error %v", err)
				}
			})
		}
	}
}

func TestFrameTooLargeErrorNamesLimitSizeAndFlag(t *testing.T) {
	_, err := NewReader(strings.NewReader("70000000\n"), 64<<20, "--max-event-bytes").ReadFrame()
	want := "recordio: event of 70000000 bytes announced, over the limit of 67108864 bytes; raise it with --max-event-bytes"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// A length prefix announcing the whole limit, followed by a few bytes,
// costs a first chunk, not the announced size.
func TestHostileLengthAllocatesAsBytesArrive(t *testing.T) {
	in := strconv.Itoa(64<<20) + "\n" + "abc"
	r := NewReader(strings.NewReader(in), 64<<20, "")
	_, err := r.ReadFrame()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v", err)
	}
	if c := cap(r.buf); c > firstChunk {
		t.Fatalf("buffer of %d bytes for 3 bytes received", c)
	}
}

// Growth at most doubles what arrived, so a frame of n bytes allocates
// under 2n + firstChunk in all.
func TestGrowthIsBounded(t *testing.T) {
	n := 5<<20 + 3
	r := NewReader(strings.NewReader(frame(strings.Repeat("y", n))), 8<<20, "")
	b, err := r.ReadFrame()
	if err != nil || len(b) != n {
		t.Fatalf("frame of %d bytes, err %v", len(b), err)
	}
	if cap(b) > 2*n+firstChunk {
		t.Fatalf("capacity %d for a frame of %d bytes", cap(b), n)
	}
	// a big buffer is not kept for the next (small) frame
	r2 := NewReader(strings.NewReader(frame(strings.Repeat("y", n))+frame("z")), 8<<20, "")
	if _, err := r2.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	z, err := r2.ReadFrame()
	if err != nil || string(z) != "z" || cap(z) > firstChunk {
		t.Fatalf("second frame %q (cap %d), err %v", z, cap(z), err)
	}
}

func isEOF(err error) bool         { return err == io.EOF }
func unexpectedEOF(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }

func tooLarge(size uint64, limit int) func(error) bool {
	return func(err error) bool {
		var e *FrameTooLargeError
		return errors.As(err, &e) && e.Size == size && e.Limit == limit && e.Raise == "--max-event-bytes"
	}
}

func badLength(prefix string) func(error) bool {
	return func(err error) bool {
		var e *LengthError
		return errors.As(err, &e) && e.Prefix == prefix
	}
}

func short(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		if len(s) > 20 {
			s = s[:20] + "…(" + strconv.Itoa(len(s)) + ")"
		}
		out[i] = s
	}
	return out
}

// FuzzRecordIO checks the reader against its contract on any input: no
// frame over the limit, every error one of the documented kinds, and
// frames written with the Mesos framing read back unchanged.
func FuzzRecordIO(f *testing.F) {
	for _, s := range []string{
		"", frame("hello") + frame("world"), "0\n" + frame("a"), "1a\nx", "\nx", "12",
		"5\nhel", "18446744073709551615\nxx", "18446744073709551616\n", strings.Repeat("9", 25) + "\n",
		frame(strings.Repeat("x", 300)), "3\nabc0\n", " 1\nx",
	} {
		f.Add([]byte(s), uint16(256))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit16 uint16) {
		limit := int(limit16) + 1
		r := NewReader(bytes.NewReader(in), limit, "--max-event-bytes")
		var frames [][]byte
		for {
			b, err := r.ReadFrame()
			if err != nil {
				var tl *FrameTooLargeError
				var le *LengthError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &tl) && !errors.As(err, &le) {
					t.Fatalf("unexpected error kind %T: %v", err, err)
				}
				break
			}
			if len(b) == 0 || len(b) > limit {
				t.Fatalf("frame of %d bytes with limit %d", len(b), limit)
			}
			frames = append(frames, append([]byte(nil), b...))
		}
		// round trip: the frames read, framed again, read back the same
		var again bytes.Buffer
		for _, b := range frames {
			again.WriteString(strconv.Itoa(len(b)) + "\n")
			again.Write(b)
		}
		back, err := readAll(NewReader(iotest.OneByteReader(&again), limit, ""))
		if err != io.EOF || len(back) != len(frames) {
			t.Fatalf("round trip: %d frames, err %v; want %d", len(back), err, len(frames))
		}
		for i := range back {
			if back[i] != string(frames[i]) {
				t.Fatalf("round trip frame %d differs", i)
			}
		}
	})
}
