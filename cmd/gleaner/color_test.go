package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/gleaner-project/gleaner/scheduler/job"
)

func TestColorAllowed(t *testing.T) {
	for _, tc := range []struct {
		terminal      bool
		noColor, term string
		want          bool
	}{
		{true, "", "xterm-256color", true},
		{false, "", "xterm", false}, // piped
		{true, "1", "xterm", false}, // NO_COLOR
		{true, "", "dumb", false},
	} {
		if got := colorAllowed(tc.terminal, tc.noColor, tc.term); got != tc.want {
			t.Errorf("%+v: %v", tc, got)
		}
	}
	// Piped (a buffer): no escape codes.
	if colorsFor(new(bytes.Buffer)) {
		t.Fatal("colours on a buffer")
	}
}

// Coloured cells keep a table's columns aligned.
func TestColoredColumnsAlign(t *testing.T) {
	p := painter{on: true}
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	tw.Write([]byte("ID\t" + p.plain("STATE") + "\tX\n"))
	tw.Write([]byte("a-1\t" + p.state(job.Succeeded) + "\tx\n"))
	tw.Write([]byte("bb-22\t" + p.state(job.Failed) + "\tx\n"))
	tw.Flush()
	strip := strings.NewReplacer(sgrReset, "", sgrDefault, "", sgrRed, "", sgrGreen, "")
	lines := strings.Split(strip.Replace(b.String()), "\n")
	col := strings.Index(lines[0], "X")
	for _, l := range lines[1:3] {
		if strings.Index(l, "x") != col {
			t.Fatalf("misaligned:\n%s", strip.Replace(b.String()))
		}
	}
	if !strings.Contains(b.String(), sgrGreen+"succeeded"+sgrReset) {
		t.Fatalf("no colour: %q", b.String())
	}
	if (painter{}).state(job.Failed) != "failed" {
		t.Fatal("colour while off")
	}
}
