package master

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/gleaner-project/gleaner/test/localmesos/wire"
)

// eventStream is one framework subscription: events are queued under the
// master lock (never blocking on the network) and written by the SUBSCRIBE
// handler goroutine, which owns the HTTP response.
type eventStream struct {
	id     string
	codec  wire.Codec
	mu     sync.Mutex
	queue  []*scheduler.Event
	wake   chan struct{}
	closed bool // no more events accepted; the writer drains and returns
	done   chan struct{}
	once   sync.Once
}

func newEventStream(id string, codec wire.Codec) *eventStream {
	return &eventStream{id: id, codec: codec, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues e; it is dropped if the stream is closed.
func (s *eventStream) send(e *scheduler.Event) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, e)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close stops the stream after the events already queued are written.
func (s *eventStream) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// abort ends the writer at once (client gone).
func (s *eventStream) abort() { s.once.Do(func() { close(s.done) }) }

func (s *eventStream) take() ([]*scheduler.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q, s.closed
}

// serve writes the stream until it is closed, the client goes away, or a
// write fails. It sends a HEARTBEAT every interval (the first one is queued by
// the subscriber right after SUBSCRIBED).
func (s *eventStream) serve(w http.ResponseWriter, r *http.Request, heartbeat time.Duration) {
	w.Header().Set("Content-Type", string(s.codec))
	w.Header().Set("Mesos-Stream-Id", s.id)
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	hb := &scheduler.Event{Type: scheduler.Event_HEARTBEAT}
	var buf []byte
	write := func(events []*scheduler.Event) bool {
		buf = buf[:0]
		for _, e := range events {
			b, err := s.codec.Marshal(e)
			if err != nil {
				continue // never happens for events the master builds
			}
			buf = appendFrame(buf, b)
		}
		if len(buf) == 0 {
			return true
		}
		_, err := w.Write(buf)
		if cap(buf) > maxKeptWriteBuffer {
			buf = nil // a burst's buffer is not held for the stream's life
		}
		if err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-tick.C:
			if !write([]*scheduler.Event{hb}) {
				return
			}
		case <-s.wake:
			events, closed := s.take()
			if !write(events) || closed {
				return
			}
		}
	}
}

// maxKeptWriteBuffer bounds the write buffer a stream keeps between writes.
const maxKeptWriteBuffer = 1 << 20

// appendFrame appends one RecordIO frame: the decimal length of b, a
// newline, then b itself (nothing after it).
func appendFrame(buf, b []byte) []byte {
	buf = strconv.AppendInt(buf, int64(len(b)), 10)
	buf = append(buf, '\n')
	return append(buf, b...)
}
