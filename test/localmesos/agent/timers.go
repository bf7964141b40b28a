package agent

import (
	"container/heap"
	"sync"
	"time"
)

// timers runs callbacks at given times from one goroutine and one heap, so
// thousands of retries and simulated task ends cost no goroutine each.
type timers struct {
	mu   sync.Mutex
	h    timerHeap
	byID map[uint64]*timerItem // scheduled, for cancel
	seq  uint64
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

type timerItem struct {
	at    time.Time
	seq   uint64 // FIFO among equal times; the timer's ID
	fn    func()
	index int // in the heap
}

type timerHeap []*timerItem

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	it := x.(*timerItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *timerHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

func newTimers() *timers {
	t := &timers{byID: map[uint64]*timerItem{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

// after schedules fn to run once d has passed and returns the timer's ID
// for cancel. Callbacks run one at a time.
func (t *timers) after(d time.Duration, fn func()) uint64 {
	return t.at(time.Now().Add(d), fn)
}

// cancel drops a timer that has not fired yet (and what its callback
// holds); an ID that fired or was cancelled is ignored.
func (t *timers) cancel(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it, ok := t.byID[id]; ok {
		heap.Remove(&t.h, it.index)
		delete(t.byID, id)
	}
}

func (t *timers) at(when time.Time, fn func()) uint64 {
	t.mu.Lock()
	t.seq++
	id := t.seq
	it := &timerItem{at: when, seq: id, fn: fn}
	heap.Push(&t.h, it)
	t.byID[id] = it
	first := t.h[0].seq == id
	t.mu.Unlock()
	if first {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return id
}

func (t *timers) close() {
	close(t.stop)
	<-t.done
}

func (t *timers) run() {
	defer close(t.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []func()
	for {
		t.mu.Lock()
		now := time.Now()
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			it := heap.Pop(&t.h).(*timerItem)
			delete(t.byID, it.seq)
			due = append(due, it.fn)
		}
		wait := time.Hour
		if len(t.h) > 0 {
			wait = t.h[0].at.Sub(now)
		}
		t.mu.Unlock()
		for i, fn := range due {
			fn()
			due[i] = nil
		}
		due = due[:0]
		timer.Reset(wait)
		select {
		case <-t.stop:
			return
		case <-t.wake:
		case <-timer.C:
		}
	}
}

// outbox delivers calls to the master from one goroutine, in order, so the
// agent never calls the master while holding its own lock.
type outbox struct {
	mu     sync.Mutex
	q      []func()
	wake   chan struct{}
	held   bool // deliver nothing until release
	closed bool
	done   chan struct{}
}

// hold keeps calls queued (while the agent registers); release lets them go.
func (o *outbox) hold() {
	o.mu.Lock()
	o.held = true
	o.mu.Unlock()
}

func (o *outbox) release() {
	o.mu.Lock()
	o.held = false
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func newOutbox() *outbox {
	o := &outbox{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.run()
	return o
}

func (o *outbox) push(fn func()) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.q = append(o.q, fn)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// close delivers what is queued, then stops.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	<-o.done
}

func (o *outbox) run() {
	defer close(o.done)
	var batch []func()
	for {
		o.mu.Lock()
		closed := o.closed
		if o.held && !closed {
			o.mu.Unlock()
			<-o.wake
			continue
		}
		batch, o.q = o.q, batch[:0]
		o.mu.Unlock()
		for i, fn := range batch {
			fn()
			batch[i] = nil
		}
		if closed && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			<-o.wake
		}
	}
}

// flush waits until everything pushed so far has been delivered.
func (o *outbox) flush() {
	done := make(chan struct{})
	o.push(func() { close(done) })
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if !closed {
		<-done
	}
}
