package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/client"
)

// job get JOB TASK INDEX lists the outputs of the last attempt that left
// some, sorted, a long value cut with its size.
func TestPrintInstanceShowsOutputs(t *testing.T) {
	long := strings.Repeat("x", maxOutputShown+50)
	inst := client.Instance{Job: "j", Task: "flip", Index: 0, Attempts: []client.Attempt{
		{Attempt: 0, State: "succeeded", Outputs: map[string]string{"result": "tails"}},
		{Attempt: 1, State: "succeeded", Outputs: map[string]string{"result": "heads", "big": long, "two": "a\nb"}},
		{Attempt: 2, State: "failed"},
	}}
	var b bytes.Buffer
	printInstance(&b, inst, painter{})
	out := b.String()
	want := "outputs (attempt 1):\n  big = " + long[:maxOutputShown] + "… (250 bytes)\n  result = heads\n  two = a\\nb\n"
	if !strings.HasSuffix(out, want) {
		t.Fatalf("got\n%s\nwant it to end with\n%s", out, want)
	}
}
