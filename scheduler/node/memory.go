package node

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Returning idle memory: a burst of work (a big job's launches and
// updates, and after it the fold, retention, the last status reads of a
// watch, a scrape) leaves garbage and free heap the Go runtime would keep
// as the process's memory for minutes: until a collection finds the live
// heap smaller, and the runtime collects on its own only every two minutes
// when little is allocated. The leader looks every idleMemoryEvery and,
// while it is quiet (the engine holds no job, or nothing was launched,
// updated or stored since the last look: framework.Work) and the runtime
// keeps more than idleMemorySlack beyond the live heap, returns it
// (debug.FreeOSMemory: a collection, then the free heap to the OS), at
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
// leader is quiet (quietLeader: a busy leader's heap is its work), when
// the runtime keeps more than slack beyond the live heap, and not within
// minGap of the last release. Pure.
func releaseIdleMemory(quiet bool, h heapSample, now, last time.Time) bool {
	if !quiet || now.Sub(last) < idleMemoryMinGap {
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

// quietLeader reports whether a leader is quiet: its engine holds no job,
// or its framework's Work count stands where it stood at the last look
// (sameTerm: that look was in this leadership term). Pure.
func quietLeader(jobs int, work, lastWork uint64, sameTerm bool) bool {
	return jobs == 0 || (sameTerm && work == lastWork)
}

// idleMemoryLoop returns idle memory while this node leads.
func (n *Node) idleMemoryLoop(ctx context.Context) {
	tick := time.NewTicker(idleMemoryEvery)
	defer tick.Stop()
	var last time.Time
	var lastTerm *term
	var lastWork uint64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t := n.current()
			quiet := false
			if t != nil {
				work := t.fw.Work()
				quiet = quietLeader(t.engine.ScheduledJobs(), work, lastWork, t == lastTerm)
				lastTerm, lastWork = t, work
			}
			if releaseIdleMemory(quiet, readHeap(), now, last) {
				last = now
				debug.FreeOSMemory()
			}
		}
	}
}
