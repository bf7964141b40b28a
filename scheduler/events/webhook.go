package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Headers of a webhook delivery.
const (
	HeaderSignature = "X-Gleaner-Signature" // sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
	HeaderTimestamp = "X-Gleaner-Timestamp" // unix seconds when the attempt was sent
	HeaderEvent     = "X-Gleaner-Event"     // the event's type
	HeaderDelivery  = "X-Gleaner-Delivery"  // the event's id, the same on every retry
)

// Defaults of a Dispatcher.
const (
	DefaultQueueSize   = 1000
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultTimeout     = 10 * time.Second
	// DefaultTolerance is how old a timestamp Verify accepts.
	DefaultTolerance = 5 * time.Minute
)

// Sign returns the X-Gleaner-Signature value of body sent at ts: HMAC-SHA256
// with secret over "<unix seconds>.<body>", so a captured delivery cannot
// be replayed with a fresh timestamp.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery as a receiver should: the signature over the
// timestamp header and the body, and a timestamp within tolerance of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not unix seconds", HeaderTimestamp, timestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s %s is %s from now, beyond %s", HeaderTimestamp, timestamp, d.Round(time.Second), tolerance)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature does not match")
	}
	return nil
}

// Backoff is the wait before retry number attempt (1 for the first retry):
// base doubled each time, at most max.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

var (
	deliveries = promauto.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_webhook_deliveries_total",
		Help: "Webhook deliveries by result: delivered (a 2xx), failed (every attempt refused)."}, []string{"webhook", "result"})
	dropped = promauto.NewCounterVec(prometheus.CounterOpts{Name: "gleaner_webhook_dropped_total",
		Help: "Events dropped for a webhook: its queue was full (the oldest is dropped) or the event log moved past them."}, []string{"webhook"})
)

// DispatcherConfig configures a Dispatcher. Zero fields take defaults.
type DispatcherConfig struct {
	Hooks []Webhook
	// IsLeader: events are sent only while it is true (every node
	// detects; only the leader sends).
	IsLeader func() bool
	Client   *http.Client
	// QueueSize bounds the events waiting per webhook; beyond it the
	// oldest is dropped and counted.
	QueueSize int
	// MaxAttempts bounds the attempts per event (then it is dropped as
	// failed); retries wait Backoff(n, BaseBackoff, MaxBackoff).
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Dispatcher sends the Log's events to webhooks, in order per webhook.
type Dispatcher struct {
	cfg   DispatcherConfig
	hooks []*hookQueue
}

// Stats counts one webhook's deliveries.
type Stats struct {
	Delivered, Failed, Dropped, Attempts uint64
	// NotLeading counts events not sent because this node did not lead.
	NotLeading uint64
}

type hookQueue struct {
	hook  Webhook
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
	stats Stats
}

// NewDispatcher returns a Dispatcher; call Run.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.IsLeader == nil {
		cfg.IsLeader = func() bool { return true }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Dispatcher{cfg: cfg}
	for _, h := range cfg.Hooks {
		d.hooks = append(d.hooks, &hookQueue{hook: h, wake: make(chan struct{}, 1)})
	}
	return d
}

// Stats returns the counts of the webhook called name.
func (d *Dispatcher) Stats(name string) Stats {
	for _, q := range d.hooks {
		if q.hook.Name == name {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.stats
		}
	}
	return Stats{}
}

// Run delivers the events of l after seq after (0: every event it holds)
// until ctx ends.
func (d *Dispatcher) Run(ctx context.Context, l *Log, after uint64) error {
	if len(d.hooks) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for _, q := range d.hooks {
		wg.Add(1)
		go func() { defer wg.Done(); d.deliverLoop(ctx, q) }()
	}
	defer wg.Wait()
	for {
		evs, missed, changed := l.Since(after, 1000)
		if missed > 0 {
			for _, q := range d.hooks {
				q.drop(missed)
			}
		}
		if len(evs) > 0 {
			after = evs[len(evs)-1].Seq
			leading := d.cfg.IsLeader()
			for _, q := range d.hooks {
				for _, e := range evs {
					switch {
					case !q.hook.Wants(e.Type):
					case leading:
						q.push(e, d.cfg.QueueSize)
					default:
						q.mu.Lock()
						q.stats.NotLeading++
						q.mu.Unlock()
					}
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

func (q *hookQueue) drop(n uint64) {
	q.mu.Lock()
	q.stats.Dropped += n
	q.mu.Unlock()
	dropped.WithLabelValues(q.hook.Name).Add(float64(n))
}

// push queues e, dropping the oldest beyond size.
func (q *hookQueue) push(e Event, size int) {
	q.mu.Lock()
	q.queue = append(q.queue, e)
	var n int
	if over := len(q.queue) - size; over > 0 {
		q.queue = append(q.queue[:0:0], q.queue[over:]...)
		n = over
	}
	q.mu.Unlock()
	if n > 0 {
		q.drop(uint64(n))
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *hookQueue) pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) == 0 {
		return Event{}, false
	}
	e := q.queue[0]
	q.queue = q.queue[1:]
	return e, true
}

func (d *Dispatcher) deliverLoop(ctx context.Context, q *hookQueue) {
	for ctx.Err() == nil {
		e, ok := q.pop()
		if !ok {
			select {
			case <-ctx.Done():
			case <-q.wake:
			}
			continue
		}
		d.deliver(ctx, q, e)
	}
}

// deliver sends e until a 2xx answer or MaxAttempts attempts.
func (d *Dispatcher) deliver(ctx context.Context, q *hookQueue, e Event) {
	body, _ := json.Marshal(e)
	for attempt := 1; ; attempt++ {
		err := d.send(ctx, q.hook, e, body)
		q.mu.Lock()
		q.stats.Attempts++
		q.mu.Unlock()
		if err == nil {
			q.mu.Lock()
			q.stats.Delivered++
			q.mu.Unlock()
			deliveries.WithLabelValues(q.hook.Name, "delivered").Inc()
			return
		}
		if attempt >= d.cfg.MaxAttempts || ctx.Err() != nil {
			q.mu.Lock()
			q.stats.Failed++
			q.mu.Unlock()
			deliveries.WithLabelValues(q.hook.Name, "failed").Inc()
			d.cfg.Logger.Warn("webhook: event not delivered", "webhook", q.hook.Name, "event", e.ID, "type", e.Type, "attempts", attempt, "err", err)
			return
		}
		wait := Backoff(attempt, d.cfg.BaseBackoff, d.cfg.MaxBackoff)
		d.cfg.Logger.Debug("webhook: retrying", "webhook", q.hook.Name, "event", e.ID, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (d *Dispatcher) send(ctx context.Context, h Webhook, e Event, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gleaner-webhook")
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderDelivery, e.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(h.Secret, now, body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", h.URL, resp.Status)
	}
	return nil
}

// Wants reports whether the webhook takes events of type typ: every type
// when Events is empty, else a listed type or a "job.*"-style prefix
// ("*" is every type).
func (h Webhook) Wants(typ string) bool {
	if len(h.Events) == 0 {
		return true
	}
	for _, p := range h.Events {
		if p == "*" || p == typ || (strings.HasSuffix(p, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}
