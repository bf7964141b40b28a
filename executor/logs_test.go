package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each kept line of a task log gets one time in <log>.times, the time its
// first bytes arrived, however the writes split the lines.
func TestCappedFileRecordsWhenEachLineBegan(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		writes []string
		limit  int64
		want   []int // per line: the index of the write it began in
	}{
		{"one write, two lines", []string{"a\nb\n"}, 1 << 20, []int{0, 0}},
		{"a line split across writes keeps its first time", []string{"par", "tial\n", "next\n"}, 1 << 20, []int{0, 2}},
		{"a newline at a write's end starts no line until the next write", []string{"a\n", "b"}, 1 << 20, []int{0, 1}},
		{"empty lines count", []string{"\n\n", "x\n"}, 1 << 20, []int{0, 0, 1}},
		{"lines past the cap get no time", []string{"a\n", "b\n", "c\n"}, 3, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "stdout")
			c, err := newCappedFile(p, tc.limit, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.writes {
				c.now = func() time.Time { return t0.Add(time.Duration(i) * time.Second) }
				c.Write([]byte(w))
			}
			c.Close()
			b, err := os.ReadFile(p + TimesSuffix)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, t0.Add(time.Duration(w)*time.Second).Format(time.RFC3339Nano))
			}
			if got := strings.Fields(string(b)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("times %v, want %v", got, want)
			}
		})
	}
}
