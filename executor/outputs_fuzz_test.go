package executor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadOutputs writes what a task might leave in $GLEANER_OUTPUTS —
// two files of any name and content — and reads it: never a panic, and
// whatever is accepted is within the bounds (names, UTF-8, 4 KiB a value,
// 8 KiB as the stored JSON) and equals what was written but for one
// trailing newline.
func FuzzReadOutputs(f *testing.F) {
	f.Add("result", "heads\n", "count", "3")
	f.Add("a-b_1", strings.Repeat("x", MaxOutputValueBytes), "b", "\xff")
	f.Add("..", "x", "", "y")
	f.Add("9bad", "x", "ok", strings.Repeat("é", 2000))
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		if len(v1)+len(v2) > 4*MaxOutputsBytes {
			return
		}
		dir := filepath.Join(t.TempDir(), OutputsDir)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		written := map[string]string{}
		for _, nv := range [][2]string{{n1, v1}, {n2, v2}} {
			if nv[0] == "" || nv[0] == "." || nv[0] == ".." || strings.ContainsAny(nv[0], "/\x00") || len(nv[0]) > 200 {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, nv[0]), []byte(nv[1]), 0o600); err == nil {
				written[nv[0]] = nv[1]
			}
		}
		out, err := ReadOutputs(dir)
		if err != nil {
			return
		}
		if len(out) != len(written) {
			t.Fatalf("read %d outputs of %d written", len(out), len(written))
		}
		for k, v := range out {
			if !outputNameRE.MatchString(k) || !utf8.ValidString(v) || len(v) > MaxOutputValueBytes {
				t.Fatalf("accepted %q = %.40q (%d bytes)", k, v, len(v))
			}
			if w := written[k]; v != w && v+"\n" != w {
				t.Fatalf("%s: read %.40q, wrote %.40q", k, v, w)
			}
		}
		if b, _ := json.Marshal(out); len(b) > MaxOutputsBytes {
			t.Fatalf("accepted %d bytes of JSON", len(b))
		}
	})
}
