package main

import "testing"

func TestParseWeights(t *testing.T) {
	got, err := parseWeights("user-weight", []string{"alice=3", "bob=0.5"})
	if err != nil || got["alice"] != 3 || got["bob"] != 0.5 || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := parseWeights("queue-weight", nil); got != nil || err != nil {
		t.Fatalf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"alice", "=2", "alice=0", "alice=-1", "alice=x", "alice=+Inf"} {
		if _, err := parseWeights("user-weight", []string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
