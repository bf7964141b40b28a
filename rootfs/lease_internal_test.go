package rootfs

import (
	"slices"
	"testing"
	"time"
)

func TestEvictionOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	names := func(bs []cachedBundle) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.name)
		}
		return out
	}
	for _, c := range []struct {
		name string
		in   []cachedBundle
		want []string
	}{
		{"empty", nil, nil},
		{"oldest use first", []cachedBundle{{name: "new", lastUse: t0.Add(time.Hour)}, {name: "old", lastUse: t0}, {name: "mid", lastUse: t0.Add(time.Minute)}},
			[]string{"old", "mid", "new"}},
		{"size does not matter", []cachedBundle{{name: "big-new", bytes: 1 << 30, lastUse: t0.Add(time.Second)}, {name: "small-old", bytes: 1, lastUse: t0}},
			[]string{"small-old", "big-new"}},
		{"ties by name", []cachedBundle{{name: "b", lastUse: t0}, {name: "a", lastUse: t0}}, []string{"a", "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			if got := names(evictionOrder(c.in)); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			if !slices.Equal(names(in), names(c.in)) {
				t.Fatal("evictionOrder reordered its input")
			}
		})
	}
}
