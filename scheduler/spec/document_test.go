package spec

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// aliasBomb is issue 10 finding 4: a 1 MiB string anchored once and
// aliased 200 times in a body of about 1 MB.
func aliasBomb() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "params:\n  big: &big %s\nname: j\ntasks:\n  - name: a\n    command: x\n    env:\n", strings.Repeat("a", 1<<20))
	for i := range 200 {
		fmt.Fprintf(&b, "      V%d: *big\n", i)
	}
	return []byte(b.String())
}

func TestParseRefusesAliasAmplificationWithoutExpandingIt(t *testing.T) {
	body := aliasBomb()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Parse(body)
	runtime.ReadMemStats(&after)
	fe, ok := AsFieldError(err)
	if !ok || !strings.Contains(fe.Msg, "YAML aliases expand the spec") || !strings.Contains(fe.Msg, "anchor &big") || !strings.Contains(fe.Msg, "used 200 times") {
		t.Fatalf("want an error naming the alias amplification and the anchor, got %v", err)
	}
	// The expansion would be 200 MiB; refusing it must cost a small
	// multiple of the body, not of the expansion.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("refusing a %d-byte body allocated %d MiB", len(body), grew>>20)
	}
}

func TestCheckDocument(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	deepAnchor := "d: &d " + nested(MaxDocumentDepth-2) + "\ne: [[[[*d]]]]\n"
	for _, c := range []struct {
		name, doc, want string // want "" = accepted
	}{
		{"plain spec", "name: j\ntasks: [{name: a, command: x}]\n", ""},
		{"json", `{"name": "j", "tasks": [{"name": "a", "command": "x"}]}`, ""},
		{"compose anchors reused a few times", "x-common: &common {cpu_shares: 512, labels: {a: b}}\nservices:\n  a: *common\n  b: *common\n", ""},
		{"nesting at the limit", "a: " + nested(MaxDocumentDepth-1), ""},
		{"nesting past the limit", "a: " + nested(MaxDocumentDepth+5), "spec nested deeper than 64"},
		{"json nesting past the limit", `{"a": ` + nested(100) + "}", "spec nested deeper than 64"},
		{"billion laughs", laughs, "YAML aliases expand the spec"},
		{"alias deepens past the limit", deepAnchor, "once alias *d at line 2 is expanded"},
		{"too large", "a: " + strings.Repeat("x", MaxDocumentBytes), "spec of 4194307 bytes is larger than the 4194304 allowed"},
		{"syntax error", "a: [", "parse spec:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDocument("spec", []byte(c.doc))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if fe, ok := AsFieldError(err); err != nil && (!ok || fe.Field != "") {
				t.Fatalf("want a *fielderr.FieldError on the document, got %#v", err)
			}
		})
	}
}
