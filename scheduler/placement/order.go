package placement

import (
	"fmt"
	"math"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// FairConfig configures the ordering of pending work.
type FairConfig struct {
	// Total is the cluster size the dominant shares are computed against.
	Total Resources
	// QueueWeights and UserWeights scale shares (a weight of 2 entitles a
	// queue or user to twice the resources); missing names weigh 1.
	QueueWeights map[string]float64
	UserWeights  map[string]float64
}

// Validate rejects non-positive weights and an empty total, naming the field.
func (c FairConfig) Validate() error {
	if err := c.Total.Validate(); err != nil {
		return fmt.Errorf("total: %w", err)
	}
	for k, w := range c.QueueWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			return &fielderr.FieldError{Field: "queue_weights." + k, Msg: "must be a positive number"}
		}
	}
	for k, w := range c.UserWeights {
		if !(w > 0) || math.IsInf(w, 0) {
			return &fielderr.FieldError{Field: "user_weights." + k, Msg: "must be a positive number"}
		}
	}
	return nil
}

// Fair orders pending asks: higher priority first, then the queue with the
// smallest weighted dominant share, then the user with the smallest
// weighted dominant share, then first-in first-out (Ask.Seq). Shares
// follow placements as they happen (Placed), so one cycle interleaves
// users as dominant-resource fairness asks. Not safe for concurrent use.
type Fair struct {
	cfg     FairConfig
	queues  map[string]*share
	users   map[string]*share
	buckets []bucket
	index   map[bucketKey]int
}

type share struct {
	used   Resources
	weight float64
	dom    float64
}

type bucketKey struct {
	prio        int
	queue, user string
}

type bucket struct {
	key   bucketKey
	q, u  *share
	asks  []*Ask
	head  int
	inUse bool
}

// NewFair returns an orderer with no usage.
func NewFair(cfg FairConfig) *Fair {
	return &Fair{cfg: cfg, queues: map[string]*share{}, users: map[string]*share{}, index: map[bucketKey]int{}}
}

func (f *Fair) share(m map[string]*share, weights map[string]float64, name string) *share {
	s, ok := m[name]
	if !ok {
		w := weights[name]
		if w <= 0 {
			w = 1
		}
		s = &share{weight: w}
		m[name] = s
	}
	return s
}

func (f *Fair) dominant(r Resources) float64 {
	t := f.cfg.Total
	d := 0.0
	for _, p := range [...][2]float64{{r.CPUs, t.CPUs}, {r.Mem, t.Mem}, {r.Disk, t.Disk}, {r.GPUs, t.GPUs}} {
		if p[1] > 0 && p[0]/p[1] > d {
			d = p[0] / p[1]
		}
	}
	return d
}

func (f *Fair) add(s *share, r Resources) {
	s.used = s.used.Add(r)
	s.dom = f.dominant(s.used) / s.weight
}

// SetUsage records what a queue's user already runs (call once per
// (queue, user) before Reset; it adds up).
func (f *Fair) SetUsage(queue, user string, r Resources) {
	f.add(f.share(f.queues, f.cfg.QueueWeights, queue), r)
	f.add(f.share(f.users, f.cfg.UserWeights, user), r)
}

// ClearUsage forgets all usage.
func (f *Fair) ClearUsage() {
	for _, s := range f.queues {
		s.used, s.dom = Resources{}, 0
	}
	for _, s := range f.users {
		s.used, s.dom = Resources{}, 0
	}
}

// Reset loads the pending asks (in Seq order within each priority, queue
// and user; asks should be given in Seq order).
func (f *Fair) Reset(asks []*Ask) {
	for i := range f.buckets {
		b := &f.buckets[i]
		clear(b.asks)
		b.asks, b.head, b.inUse = b.asks[:0], 0, false
	}
	for _, a := range asks {
		k := bucketKey{a.Priority, a.Queue, a.User}
		i, ok := f.index[k]
		if !ok {
			i = len(f.buckets)
			f.buckets = append(f.buckets, bucket{key: k,
				q: f.share(f.queues, f.cfg.QueueWeights, a.Queue),
				u: f.share(f.users, f.cfg.UserWeights, a.User)})
			f.index[k] = i
		}
		b := &f.buckets[i]
		b.asks = append(b.asks, a)
		b.inUse = true
	}
}

// Next returns the next ask to try, or nil when all were handed out.
func (f *Fair) Next() *Ask {
	var best *bucket
	for i := range f.buckets {
		b := &f.buckets[i]
		if !b.inUse || b.head >= len(b.asks) {
			continue
		}
		if best == nil || f.before(b, best) {
			best = b
		}
	}
	if best == nil {
		return nil
	}
	a := best.asks[best.head]
	best.head++
	return a
}

func (f *Fair) before(a, b *bucket) bool {
	if a.key.prio != b.key.prio {
		return a.key.prio > b.key.prio
	}
	if a.q.dom != b.q.dom {
		return a.q.dom < b.q.dom
	}
	if a.u.dom != b.u.dom {
		return a.u.dom < b.u.dom
	}
	return a.asks[a.head].Seq < b.asks[b.head].Seq
}

// Placed charges a placed ask to its queue and user.
func (f *Fair) Placed(a *Ask) {
	f.add(f.share(f.queues, f.cfg.QueueWeights, a.Queue), a.Resources)
	f.add(f.share(f.users, f.cfg.UserWeights, a.User), a.Resources)
}

// Order returns asks in the order Fair hands them out when every one is
// placed: the static answer for listing the queue.
func Order(cfg FairConfig, usage map[[2]string]Resources, asks []*Ask) []*Ask {
	f := NewFair(cfg)
	for k, r := range usage {
		f.SetUsage(k[0], k[1], r)
	}
	f.Reset(asks)
	out := make([]*Ask, 0, len(asks))
	for a := f.Next(); a != nil; a = f.Next() {
		out = append(out, a)
		f.Placed(a)
	}
	return out
}
