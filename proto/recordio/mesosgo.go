package recordio

import (
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/framing"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
)

// ClientOptions makes a mesos-go httpcli.Client read its RecordIO responses
// (event streams) with a Reader of frames of at most limit bytes, decoding
// with codec; raise names how to raise the limit. Responses of a single
// message are read as before.
//
// httpcli builds its stream reader itself, from the response body, with no
// option for the frame size. The two options returned work around that
// through its extension points: a doer wrapper hands the body of each 200
// answer to the codec, whose decoder then reads that body with a Reader.
// The client must therefore send one call at a time, as mesos-go's
// scheduler caller (httpsched) does and as a client kept for SUBSCRIBE does.
// Pass the options after any other Codec option.
func ClientOptions(codec encoding.Codec, limit int, raise string) []httpcli.Opt {
	if limit <= 0 {
		panic("recordio: limit must be positive")
	}
	h := &bodyHandoff{}
	bounded := codec
	decode := codec.NewDecoder
	bounded.NewDecoder = func(src encoding.Source) encoding.Decoder {
		fr := src()
		if _, whole := fr.(framing.ReaderFunc); whole {
			// a single message (httpcli's encoding.SourceReader): its body,
			// handed over too, is not a stream; drop it from the slot
			h.take()
			return decode(func() framing.Reader { return fr })
		}
		body := h.take()
		if body == nil {
			return encoding.DecoderFunc(func(encoding.Unmarshaler) error { return errNoBody })
		}
		r := NewReader(body, limit, raise)
		return decode(func() framing.Reader { return r })
	}
	return []httpcli.Opt{httpcli.Codec(bounded), httpcli.WrapDoer(h.wrap)}
}

var errNoBody = errors.New("recordio: no response body to read the stream from (is the client sending calls concurrently?)")

// bodyHandoff carries the body of the last 200 answer from the doer to the
// codec's decoder, which httpcli calls next for the same call.
type bodyHandoff struct {
	mu   sync.Mutex
	body io.Reader
}

func (h *bodyHandoff) wrap(do httpcli.DoFunc) httpcli.DoFunc {
	return func(req *http.Request) (*http.Response, error) {
		resp, err := do(req)
		if err == nil && resp.StatusCode == http.StatusOK {
			h.mu.Lock()
			h.body = resp.Body
			h.mu.Unlock()
		}
		return resp, err
	}
}

func (h *bodyHandoff) take() io.Reader {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.body
	h.body = nil
	return b
}
