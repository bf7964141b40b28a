package framework

import (
	"testing"
	"time"
)

func TestMemoryRelease(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		jobs int
		at   time.Duration
		want bool
	}{
		{0, 0, false},                 // idle from the start: nothing to give back
		{3, time.Second, false},       // busy
		{0, 2 * time.Second, true},    // the last job ended
		{0, 3 * time.Second, false},   // still idle: released already
		{1, 4 * time.Second, false},   // busy again
		{0, 5 * time.Second, false},   // ended again, but within a minute of the last release
		{0, 70 * time.Second, true},   // still owed, a minute on
		{0, 200 * time.Second, false}, // nothing new
		{2, 201 * time.Second, false}, // busy
		{0, 202 * time.Second, true},  // ended, long after the last release
	}
	var m memoryRelease
	for i, s := range steps {
		if got := m.observe(s.jobs, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d (%d jobs at %s): release = %v, want %v", i, s.jobs, s.at, got, s.want)
		}
	}
}
