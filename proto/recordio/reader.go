// Package recordio reads the Mesos RecordIO framing of the v1 event streams
// (a scheduler's SUBSCRIBE to the master, an executor's SUBSCRIBE to its
// agent): each record is its length in ASCII decimal, a newline, then that
// many bytes.
//
// mesos-go v0.0.11 reads these streams with a bufio.Scanner whose largest
// token is 4 MiB (recordio.NewReader: Buffer(buf, 1<<22)); httpcli gives no
// way to change it, and a bigger event breaks the subscription with
// "bufio.Scanner: token too long". Reader is bounded by a limit its caller
// chooses, grows its buffer as the bytes of a frame arrive (never from the
// announced length alone), and reports a frame over the limit with the size
// announced, the limit and how to raise it. ClientOptions plugs it into a
// mesos-go httpcli.Client.
package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
)

// maxLengthDigits is the length of the largest uint64, 18446744073709551615.
const maxLengthDigits = 20

// firstChunk is the most a frame's buffer grows by before any of its bytes
// arrived; after that it at most doubles what has arrived.
const firstChunk = 64 << 10

// keepBuffer is the largest frame buffer kept for the next frame; a larger
// one (a rare big event) is dropped so the stream does not hold it.
const keepBuffer = 1 << 20

// FrameTooLargeError is a frame whose length prefix is over the limit.
type FrameTooLargeError struct {
	Size  uint64 // bytes announced by the length prefix
	Limit int    // largest frame the reader accepts
	Raise string // how to raise the limit (a flag name), or ""
}

func (e *FrameTooLargeError) Error() string {
	s := fmt.Sprintf("recordio: event of %d bytes announced, over the limit of %d bytes", e.Size, e.Limit)
	if e.Raise != "" {
		s += "; raise it with " + e.Raise
	}
	return s
}

// LengthError is a length prefix that is not a decimal byte count.
type LengthError struct {
	Prefix string // the bytes read, up to and including the offending one
	Reason string
}

func (e *LengthError) Error() string {
	return fmt.Sprintf("recordio: bad frame length %q: %s", e.Prefix, e.Reason)
}

// Reader reads frames from a RecordIO stream. It implements mesos-go's
// framing.Reader.
type Reader struct {
	src   *bufio.Reader
	limit int
	raise string
	buf   []byte
}

// NewReader returns a reader of frames of at most limit bytes (limit > 0);
// raise names how to raise the limit in the error for a larger frame.
func NewReader(r io.Reader, limit int, raise string) *Reader {
	if limit <= 0 {
		panic("recordio: limit must be positive")
	}
	return &Reader{src: bufio.NewReaderSize(r, 16<<10), limit: limit, raise: raise}
}

// ReadFrame returns the next frame's bytes, valid until the next call.
// Empty records are skipped (Mesos allows them; mesos-go skips them too).
// At the end of the stream between frames it returns io.EOF; a stream that
// ends inside a frame or its length gives an error wrapping
// io.ErrUnexpectedEOF.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		n, err := r.readLength()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return r.readRecord(int(n))
		}
	}
}

func (r *Reader) readLength() (uint64, error) {
	var digits [maxLengthDigits + 1]byte
	k := 0
	for {
		c, err := r.src.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if k == 0 {
					return 0, io.EOF
				}
				return 0, fmt.Errorf("recordio: stream ended inside the frame length %q: %w", string(digits[:k]), io.ErrUnexpectedEOF)
			}
			return 0, err
		}
		if c == '\n' {
			break
		}
		digits[k] = c
		k++
		if c < '0' || c > '9' {
			return 0, &LengthError{Prefix: string(digits[:k]), Reason: "not a decimal digit"}
		}
		if k > maxLengthDigits {
			return 0, &LengthError{Prefix: string(digits[:k]), Reason: fmt.Sprintf("more than %d digits", maxLengthDigits)}
		}
	}
	if k == 0 {
		return 0, &LengthError{Reason: "empty"}
	}
	var n uint64
	for _, d := range digits[:k] {
		v := uint64(d - '0')
		if n > (math.MaxUint64-v)/10 {
			return 0, &LengthError{Prefix: string(digits[:k]), Reason: "larger than a uint64"}
		}
		n = n*10 + v
	}
	if n > uint64(r.limit) {
		return 0, &FrameTooLargeError{Size: n, Limit: r.limit, Raise: r.raise}
	}
	return n, nil
}

// readRecord reads n bytes, growing the buffer as they arrive: a hostile
// length prefix costs at most firstChunk bytes until its bytes come.
func (r *Reader) readRecord(n int) ([]byte, error) {
	if cap(r.buf) > keepBuffer {
		r.buf = nil
	}
	buf := r.buf[:0]
	for len(buf) < n {
		want := min(n, max(2*len(buf), firstChunk))
		if cap(buf) < want {
			grown := make([]byte, len(buf), want)
			copy(grown, buf)
			buf = grown
		}
		got, err := io.ReadFull(r.src, buf[len(buf):want])
		buf = buf[:len(buf)+got]
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("recordio: stream ended %d bytes into a frame of %d bytes: %w", len(buf), n, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
	}
	r.buf = buf
	return buf, nil
}
