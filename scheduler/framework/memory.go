package framework

import "time"

// memoryRelease decides when the scheduler hands freed memory back to the
// operating system: once the engine holds no job any more after holding
// some, at most once per minRelease. Go's runtime returns freed pages only
// gradually, so after a large job the process would keep the job's peak
// as resident memory for minutes.
type memoryRelease struct {
	busy bool      // the engine held a job at the last look
	last time.Time // the last release
}

const minRelease = time.Minute

// observe records how many jobs the engine holds now and reports whether
// to release memory.
func (m *memoryRelease) observe(jobs int, now time.Time) bool {
	if jobs > 0 {
		m.busy = true
		return false
	}
	if !m.busy || now.Sub(m.last) < minRelease {
		return false
	}
	m.busy, m.last = false, now
	return true
}
