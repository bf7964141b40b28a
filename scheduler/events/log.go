package events

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// DefaultLogSize is how many recent events a Log keeps.
const DefaultLogSize = 10000

// Log keeps the most recent events in a ring and numbers them; readers
// poll Since and wait on Changed, so a slow reader costs the Log nothing
// (it misses evicted events and is told how many).
type Log struct {
	mu      sync.Mutex
	ring    []Event
	next    uint64 // seq of the next event; the first is 1
	changed chan struct{}
	run     string
	now     func() time.Time
}

// NewLog returns a Log keeping size events (DefaultLogSize if ≤ 0).
func NewLog(size int) *Log {
	if size <= 0 {
		size = DefaultLogSize
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Log{ring: make([]Event, size), next: 1, changed: make(chan struct{}), run: hex.EncodeToString(b[:]), now: time.Now}
}

// Append numbers and stores evs (Time set when zero) and wakes readers.
func (l *Log) Append(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range evs {
		e.Seq = l.next
		e.ID = l.run + "-" + strconv.FormatUint(e.Seq, 10)
		if e.Time.IsZero() {
			e.Time = l.now().UTC()
		}
		l.ring[e.Seq%uint64(len(l.ring))] = e
		l.next++
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Last is the seq of the newest event (0 when none).
func (l *Log) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

// Since returns up to max events after seq after, oldest first, and how
// many events after it were already evicted. changed is closed when an
// event is appended after this call.
func (l *Log) Since(after uint64, max int) (evs []Event, missed uint64, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := uint64(1)
	if n := uint64(len(l.ring)); l.next > n {
		oldest = l.next - n
	}
	from := after + 1
	if from < oldest {
		missed = oldest - from
		from = oldest
	}
	for s := from; s < l.next && len(evs) < max; s++ {
		evs = append(evs, l.ring[s%uint64(len(l.ring))])
	}
	return evs, missed, l.changed
}
