package main

import (
	"maps"
	"testing"
)

func TestScalarResources(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]float64
	}{
		{"cpus:4;mem:4096;disk:10240", map[string]float64{"cpus": 4, "mem": 4096, "disk": 10240}},
		{"cpus:0.5; mem : 512 ;ports:[31000-32000]", map[string]float64{"cpus": 0.5, "mem": 512}},
		{"", map[string]float64{}},
		{"gpus", map[string]float64{}},
	} {
		if got := scalarResources(tc.in); !maps.Equal(got, tc.want) {
			t.Errorf("scalarResources(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestHostMemMB(t *testing.T) {
	mb, err := hostMemMB()
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	if mb <= 0 {
		t.Fatalf("host memory %v MB", mb)
	}
}
