package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gogo/protobuf/proto"
)

// Media types Mesos speaks on its v1 APIs.
const (
	MediaProtobuf = "application/x-protobuf"
	MediaJSON     = "application/json"
)

// MaxBodyBytes bounds a request body; Mesos calls are small.
const MaxBodyBytes = 16 << 20

// Message is what every generated mesos-go type implements for both codecs.
type Message interface {
	proto.Message
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Codec encodes messages in one of the two media types.
type Codec string

// Marshal encodes m with the codec.
func (c Codec) Marshal(m Message) ([]byte, error) {
	if c == MediaJSON {
		return json.Marshal(m)
	}
	return m.Marshal()
}

// Unmarshal decodes b into m with the codec.
func (c Codec) Unmarshal(b []byte, m Message) error {
	if c == MediaJSON {
		d := json.NewDecoder(bytes.NewReader(b))
		return d.Decode(m)
	}
	return m.Unmarshal(b)
}

// HTTPError is an error with the status code Mesos answers it with.
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Errorf builds an HTTPError.
func Errorf(status int, format string, args ...any) *HTTPError {
	return &HTTPError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// WriteError answers with a plain-text body, as libprocess does.
func WriteError(w http.ResponseWriter, err error) {
	var he *HTTPError
	if !errors.As(err, &he) {
		he = &HTTPError{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(he.Status)
	_, _ = io.WriteString(w, he.Message)
}

// Request is a decoded v1 call plus the codec the response must use.
type Request struct {
	// RequestCodec is how the body was encoded.
	RequestCodec Codec
	// ResponseCodec is how the response must be encoded (from Accept).
	ResponseCodec Codec
	// acceptOK is false when Accept allowed neither media type; the caller
	// decides whether that matters (only responses with a body care: 406).
	acceptOK bool
}

// AcceptOK reports whether the Accept header allowed one of the media types.
func (r Request) AcceptOK() bool { return r.acceptOK }

// ServeVersion answers GET /version as libprocess' version process does in
// a Mesos master or agent: a JSON object naming the version.
func ServeVersion(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			WriteError(w, Errorf(http.StatusMethodNotAllowed, "Expecting one of { 'GET' }, but received '%s'", r.Method))
			return
		}
		w.Header().Set("Content-Type", MediaJSON)
		_ = json.NewEncoder(w).Encode(map[string]any{"version": version, "build_date": "", "build_time": 0, "build_user": ""})
	}
}

// NotAcceptableMessage is the body of the 406 a Mesos master or agent sends
// when Accept allows neither media type.
const NotAcceptableMessage = "Expecting 'Accept' to allow '" + MediaProtobuf + "' or '" + MediaJSON + "'"

// ReadCall checks method and media types and decodes the body into call,
// answering errors the way the Mesos master does: 405 for a non-POST, 400 for
// a missing Content-Type, 415 for an unsupported one, 400 for a malformed body.
func ReadCall(r *http.Request, call Message) (Request, error) {
	if r.Method != http.MethodPost {
		return Request{}, Errorf(http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '%s'", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	var req Request
	switch ct {
	case "":
		return Request{}, Errorf(http.StatusBadRequest, "Expecting 'Content-Type' to be present")
	case MediaProtobuf, MediaJSON:
		req.RequestCodec = Codec(ct)
	default:
		return Request{}, Errorf(http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of %s or %s", MediaJSON, MediaProtobuf)
	}
	req.ResponseCodec, req.acceptOK = negotiate(r.Header.Values("Accept"))
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return Request{}, Errorf(http.StatusBadRequest, "Failed to read body: %v", err)
	}
	if len(body) > MaxBodyBytes {
		return Request{}, Errorf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", MaxBodyBytes)
	}
	if err := req.RequestCodec.Unmarshal(body, call); err != nil {
		switch {
		case req.RequestCodec == MediaProtobuf:
			return Request{}, Errorf(http.StatusBadRequest, "Failed to parse body into Call protobuf")
		case !json.Valid(body):
			return Request{}, Errorf(http.StatusBadRequest, "Failed to parse body into JSON: %v", err)
		default:
			return Request{}, Errorf(http.StatusBadRequest, "Failed to convert JSON into Call protobuf: %v", err)
		}
	}
	return req, nil
}

// negotiate picks the response codec from Accept headers: JSON is checked
// first, then protobuf; no header at all means JSON.
func negotiate(accepts []string) (Codec, bool) {
	if len(accepts) == 0 {
		return MediaJSON, true
	}
	var types []string
	for _, a := range accepts {
		for _, part := range strings.Split(a, ",") {
			mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			if mt != "" {
				types = append(types, mt)
			}
		}
	}
	has := func(want string) bool {
		for _, t := range types {
			if t == want || t == "*/*" || (t == "application/*" && strings.HasPrefix(want, "application/")) {
				return true
			}
		}
		return false
	}
	switch {
	case has(MediaJSON):
		return MediaJSON, true
	case has(MediaProtobuf):
		return MediaProtobuf, true
	}
	return MediaJSON, false
}

// WriteMessage answers 200 with a single encoded message.
func WriteMessage(w http.ResponseWriter, codec Codec, m Message) {
	b, err := codec.Marshal(m)
	if err != nil {
		WriteError(w, Errorf(http.StatusInternalServerError, "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", string(codec))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// Stream is a chunked RecordIO event stream on an HTTP response.
// It is safe for concurrent use.
type Stream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	flusher http.Flusher
	codec   Codec
	closed  bool
	done    chan struct{}
	once    sync.Once
}

// OpenStream writes the 200 header (with any extra headers already set on w),
// flushes it at once, and returns the stream. No Content-Length is sent, so
// the body is chunked, as mesos-go requires to treat it as a stream.
func OpenStream(w http.ResponseWriter, codec Codec) *Stream {
	w.Header().Set("Content-Type", string(codec))
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	if f != nil {
		f.Flush()
	}
	return &Stream{w: w, flusher: f, codec: codec, done: make(chan struct{})}
}

// Send writes one RecordIO frame holding m and flushes it.
func (s *Stream) Send(m Message) error {
	b, err := s.codec.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStreamClosed
	}
	if _, err := io.WriteString(s.w, strconv.Itoa(len(b))+"\n"); err != nil {
		s.closeLocked()
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		s.closeLocked()
		return err
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return nil
}

// Close marks the stream closed; the handler owning it should return once
// Done fires so the connection ends.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
}

func (s *Stream) closeLocked() {
	s.closed = true
	s.once.Do(func() { close(s.done) })
}

// Done is closed when the stream is closed by Close or by a write failure.
func (s *Stream) Done() <-chan struct{} { return s.done }

// ErrStreamClosed is returned by Send after Close.
var ErrStreamClosed = errors.New("stream closed")

// NewUUID returns 16 random bytes with the RFC 4122 version 4 layout, as the
// status-update UUIDs Mesos exchanges.
func NewUUID() []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return b
}

// ValidUUID reports whether b is 16 bytes with a version nibble 1-5, the check
// Mesos applies to status-update and acknowledgement UUIDs.
func ValidUUID(b []byte) bool {
	if len(b) != 16 {
		return false
	}
	v := b[6] >> 4
	return v >= 1 && v <= 5
}

// UUIDString formats 16 bytes in the canonical 8-4-4-4-12 form.
func UUIDString(b []byte) string {
	if len(b) != 16 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
