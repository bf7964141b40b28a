package executor

import (
	"testing"
	"time"
)

func TestResubscribeDelay(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		attempt    int
		backoffMax time.Duration
		want       time.Duration
	}{
		{0, 2 * time.Second, 20 * ms},
		{1, 2 * time.Second, 40 * ms},
		{3, 2 * time.Second, 160 * ms},
		{4, 2 * time.Second, 200 * ms}, // a tenth of the agent's window
		{1000, 2 * time.Second, 200 * ms},
		{5, 0, 20 * ms},                    // no window given: the floor
		{5, 100 * ms, 20 * ms},             // a tiny window: the floor
		{10, time.Minute, 6 * time.Second}, // a long window: a tenth of it
	} {
		if got := resubscribeDelay(c.attempt, c.backoffMax); got != c.want {
			t.Errorf("resubscribeDelay(%d, %v) = %v, want %v", c.attempt, c.backoffMax, got, c.want)
		}
	}
}

func TestSubscribeAttemptTimeout(t *testing.T) {
	for _, c := range []struct{ backoffMax, want time.Duration }{
		{2 * time.Second, time.Second},
		{200 * time.Millisecond, 500 * time.Millisecond},
		{0, 5 * time.Second},
		{time.Minute, 30 * time.Second},
	} {
		if got := subscribeAttemptTimeout(c.backoffMax); got != c.want {
			t.Errorf("subscribeAttemptTimeout(%v) = %v, want %v", c.backoffMax, got, c.want)
		}
	}
}
