package api

import (
	"testing"
	"time"
)

// A watch reads at most every watchMinInterval, and a slow read (a huge
// running job) stretches the wait to watchReadCostFactor times the read.
func TestWatchWait(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{0, watchMinInterval},
		{50 * time.Millisecond, watchMinInterval},
		{watchMinInterval / watchReadCostFactor, watchMinInterval},
		{300 * time.Millisecond, 3 * time.Second},
		{2 * time.Second, 20 * time.Second},
	} {
		if got := watchWait(c.took); got != c.want {
			t.Errorf("watchWait(%s) = %s, want %s", c.took, got, c.want)
		}
	}
}
