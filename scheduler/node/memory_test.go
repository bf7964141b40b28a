package node

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestReleaseIdleMemory(t *testing.T) {
	now := time.Unix(1000, 0)
	const mib = 1 << 20
	for _, c := range []struct {
		name  string
		quiet bool
		h     heapSample
		last  time.Time
		want  bool
	}{
		{"idle, 100 MiB free kept", true, heapSample{live: 20 * mib, objects: 20 * mib, free: 100 * mib}, time.Time{}, true},
		{"idle, 80 MiB of garbage", true, heapSample{live: 20 * mib, objects: 100 * mib}, time.Time{}, true},
		{"idle, little kept", true, heapSample{live: 20 * mib, objects: 30 * mib, free: 10 * mib}, time.Time{}, false},
		{"busy", false, heapSample{live: 20 * mib, free: 500 * mib}, time.Time{}, false},
		{"released 5 s ago", true, heapSample{live: 20 * mib, free: 100 * mib}, now.Add(-5 * time.Second), false},
		{"released 10 s ago", true, heapSample{live: 20 * mib, free: 100 * mib}, now.Add(-10 * time.Second), true},
		{"live above objects (a GC ran meanwhile)", true, heapSample{live: 90 * mib, objects: 60 * mib, free: 8 * mib}, time.Time{}, false},
	} {
		if got := releaseIdleMemory(c.quiet, c.h, now, c.last); got != c.want {
			t.Errorf("%s: release %v, want %v", c.name, got, c.want)
		}
	}
}

func TestQuietLeader(t *testing.T) {
	for _, c := range []struct {
		name           string
		jobs           int
		work, lastWork uint64
		sameTerm       bool
		want           bool
	}{
		{"no job", 0, 7, 3, true, true},
		{"jobs, nothing launched or updated since the last look", 2, 7, 7, true, true},
		{"jobs, work since the last look", 2, 8, 7, true, false},
		{"jobs, first look in a new term", 2, 7, 7, false, false},
	} {
		if got := quietLeader(c.jobs, c.work, c.lastWork, c.sameTerm); got != c.want {
			t.Errorf("%s: quiet %v, want %v", c.name, got, c.want)
		}
	}
}

// The heap read from the runtime shows memory freed by a GC as kept, and
// none once it went back to the OS.
func TestReadHeapSeesKeptMemory(t *testing.T) {
	now := time.Now()
	// The freed pages may be returned before readHeap looks: by the
	// runtime's scavenger, or by another test's leader releasing memory in
	// this process (a clean-clone CI run read 2 MiB free once). A few tries;
	// a readHeap that never sees freed memory still fails.
	var h heapSample
	for try := 0; try < 5; try++ {
		garbage := make([][]byte, 64)
		for i := range garbage {
			garbage[i] = make([]byte, 1<<20)
		}
		runtime.KeepAlive(garbage)
		garbage = nil
		runtime.GC() // 64 MiB of free heap, kept
		if h = readHeap(); h.live != 0 && releaseIdleMemory(true, h, now, time.Time{}) {
			break
		}
	}
	if h.live == 0 || !releaseIdleMemory(true, h, now, time.Time{}) {
		t.Fatalf("after freeing 64 MiB (5 tries): %+v, no release", h)
	}
	debug.FreeOSMemory()
	if h := readHeap(); releaseIdleMemory(true, h, now, time.Time{}) {
		t.Fatalf("after FreeOSMemory: %+v, still a release", h)
	}
}
