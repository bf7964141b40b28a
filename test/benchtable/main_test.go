package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
BenchmarkLaunch-2   	     100	  12345 ns/op	      5123 launches/s	     512 B/op	       3 allocs/op
BenchmarkOther   	 5	 7 ns/op
PASS
`
	got := parseBenchOutput("./p", strings.NewReader(out))
	if v := got["./p BenchmarkLaunch"]["launches/s"]; v != 5123 {
		t.Fatalf("launches/s = %v, want 5123 (parsed %v)", v, got)
	}
	if v := got["./p BenchmarkLaunch"]["allocs/op"]; v != 3 {
		t.Fatalf("allocs/op = %v, want 3", v)
	}
	if v := got["./p BenchmarkOther"]["ns/op"]; v != 7 {
		t.Fatalf("ns/op = %v, want 7", v)
	}
}

func TestMeets(t *testing.T) {
	cases := []struct {
		v    float64
		want string
		ok   bool
	}{
		{5000, ">=5000", true}, {4999, ">=5000", false}, {19.9, "<20", true}, {20, "<20", false},
		{0, "=0", true}, {1, "=0", false}, {123, "-", true},
	}
	for _, c := range cases {
		got, err := meets(c.v, c.want)
		if err != nil || got != c.ok {
			t.Errorf("meets(%v, %q) = %v, %v; want %v", c.v, c.want, got, err, c.ok)
		}
	}
	if _, err := meets(1, "about 5"); err == nil {
		t.Error("meets accepted a malformed goal")
	}
}

func TestPrintTableMarksMissingAndMissed(t *testing.T) {
	goals := []goal{
		{pkg: "./p", bench: "BenchmarkA", unit: "ops/s", name: "a-rate", want: ">=10"},
		{pkg: "./p", bench: "BenchmarkB", unit: "ms", name: "b-latency", want: "<5"},
		{pkg: "./p", bench: "BenchmarkC", unit: "ms", name: "c-latency", want: "<5"},
	}
	results := map[string]map[string]float64{
		"./p BenchmarkA": {"ops/s": 12},
		"./p BenchmarkB": {"ms": 9},
	}
	var buf bytes.Buffer
	failed := printTable(&buf, goals, results, nil)
	if failed != 2 {
		t.Fatalf("failed = %d, want 2\n%s", failed, buf.String())
	}
	for _, want := range []string{"a-rate", "ok", "MISSED", "DID NOT RUN"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestPrintTableBeforeColumn(t *testing.T) {
	goals := []goal{{pkg: "./p", bench: "BenchmarkA", unit: "ops/s", name: "a-rate", want: ">=10"},
		{pkg: "./p", bench: "BenchmarkN", unit: "ops/s", name: "new-rate", want: "-"}}
	results := map[string]map[string]float64{"./p BenchmarkA": {"ops/s": 12}, "./p BenchmarkN": {"ops/s": 3}}
	before := map[string]map[string]float64{"./p BenchmarkA": {"ops/s": 7}}
	var buf bytes.Buffer
	if failed := printTable(&buf, goals, results, before); failed != 0 {
		t.Fatalf("failed = %d, want 0 (a before figure is never judged)\n%s", failed, buf.String())
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.Contains(lines[0], "before") {
		t.Fatalf("header lacks a before column: %q", lines[0])
	}
	if f := strings.Fields(lines[1]); len(f) < 3 || f[1] != "7" || f[2] != "12" {
		t.Fatalf("a-rate row = %q, want before 7 then value 12", lines[1])
	}
	if f := strings.Fields(lines[2]); len(f) < 3 || f[1] != "-" || f[2] != "3" {
		t.Fatalf("new-rate row = %q, want before - (not run there) then value 3", lines[2])
	}
}

func TestSelectGoals(t *testing.T) {
	goals := []goal{{name: "scheduler.share_of_ceiling"}, {name: "placement.allocs_per_decision"}}
	got, err := selectGoals(goals, "^scheduler")
	if err != nil || len(got) != 1 || got[0].name != "scheduler.share_of_ceiling" {
		t.Fatalf("selectGoals = %v, %v", got, err)
	}
	if _, err := selectGoals(goals, "nothing"); err == nil {
		t.Fatal("a pattern matching no row was accepted")
	}
	if _, err := selectGoals(goals, "("); err == nil {
		t.Fatal("a malformed pattern was accepted")
	}
}
