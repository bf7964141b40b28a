package node

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Returning idle memory: while the engine holds no job, the leader's
// remaining work on stored jobs (the fold, retention, the last status
// reads of a watch, a scrape) leaves garbage and free heap the Go runtime
// would keep as the process's memory for minutes after a big job. The
// leader looks every idleMemoryEvery and, when the runtime keeps more than
// idleMemorySlack beyond the live heap, returns it (debug.FreeOSMemory), at
// most once per idleMemoryMinGap.
const (
	idleMemoryEvery  = 2 * time.Second
	idleMemoryMinGap = 10 * time.Second
	idleMemorySlack  = 32 << 20
)

// heapSample is what the runtime holds of the heap: live is the heap
// marked live by the last GC, objects what objects take now (live plus
// garbage not yet collected), free the free heap not returned to the OS.
type heapSample struct{ live, objects, free uint64 }

// releaseIdleMemory decides whether to return memory now: only while the
// engine holds no job (a scheduling leader's heap is its work), when the
// runtime keeps more than slack beyond the live heap, and not within
// minGap of the last release. Pure.
func releaseIdleMemory(idle bool, h heapSample, now, last time.Time) bool {
	if !idle || now.Sub(last) < idleMemoryMinGap {
		return false
	}
	kept := h.free
	if h.objects > h.live {
		kept += h.objects - h.live
	}
	return kept > idleMemorySlack
}

var heapMetrics = []string{"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes", "/memory/classes/heap/free:bytes"}

func readHeap() heapSample {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return heapSample{live: v(0), objects: v(1), free: v(2)}
}

// idleMemoryLoop returns idle memory while this node leads.
func (n *Node) idleMemoryLoop(ctx context.Context) {
	tick := time.NewTicker(idleMemoryEvery)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t := n.current()
			idle := t != nil && t.engine.ScheduledJobs() == 0
			if releaseIdleMemory(idle, readHeap(), now, last) {
				last = now
				debug.FreeOSMemory()
			}
		}
	}
}
