package recordio

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/mesos/mesos-go/api/v1/lib/encoding/framing"
	mesosrecordio "github.com/mesos/mesos-go/api/v1/lib/recordio"
)

// BenchmarkReadFrame reads a stream of frames with this package's Reader
// and with mesos-go's reader (frames under its 4 MiB limit), in the same
// run: compare the two as a ratio, not across runs.
func BenchmarkReadFrame(b *testing.B) {
	for _, size := range []int{200, 4 << 10, 1 << 20} {
		frame := append([]byte(strconv.Itoa(size)+"\n"), bytes.Repeat([]byte{'e'}, size)...)
		const frames = 64
		stream := bytes.Repeat(frame, frames)
		for _, rd := range []struct {
			name string
			open func(io.Reader) framing.Reader
		}{
			{"gleaner", func(r io.Reader) framing.Reader { return NewReader(r, 64<<20, "") }},
			{"mesos-go", func(r io.Reader) framing.Reader { return mesosrecordio.NewReader(r) }},
		} {
			b.Run(strconv.Itoa(size)+"B/"+rd.name, func(b *testing.B) {
				b.SetBytes(int64(len(stream)))
				b.ReportAllocs()
				for b.Loop() {
					r := rd.open(bytes.NewReader(stream))
					for range frames {
						if f, err := r.ReadFrame(); err != nil || len(f) != size {
							b.Fatalf("frame of %d bytes, err %v", len(f), err)
						}
					}
				}
			})
		}
	}
}
