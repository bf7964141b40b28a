package harvest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/monitor"
	"github.com/gleaner-project/gleaner/monitor/policy"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func beat(host string, capCPU, business, batch float64, throttled bool) monitor.Status {
	return monitor.Status{Hostname: host,
		Capacity:  policy.Resources{CPUs: capCPU, MemMB: 1000},
		Business:  policy.Resources{CPUs: business, MemMB: 400},
		Batch:     policy.Resources{CPUs: batch, MemMB: 100},
		Allowance: policy.Resources{CPUs: capCPU - business - 1, MemMB: 500},
		Reserved:  policy.Resources{CPUs: capCPU - business - 1, MemMB: 500},
		Throttled: throttled}
}

func TestRecordSumsHostsAndCountsEvictions(t *testing.T) {
	h := New(Limits{})
	h.Evicted("b")
	h.Evicted("b")
	h.Evicted("gone") // a host with no heartbeat now: the cluster counts it
	h.Record(t0, []monitor.Status{beat("a", 8, 2, 1, false), beat("b", 4, 5, 0.5, true)})
	h.Record(t0.Add(15*time.Second), []monitor.Status{beat("a", 8, 3, 2, false)})

	v := h.View("", time.Time{})
	if len(v.Cluster) != 2 || len(v.Hosts) != 2 || v.Hosts[0].Hostname != "a" || v.Hosts[1].Hostname != "b" {
		t.Fatalf("view = %+v", v)
	}
	c := v.Cluster[0]
	want := Point{Time: t0, Hosts: 2,
		Capacity: Amounts{12, 2000}, Business: Amounts{7, 800}, Batch: Amounts{1.5, 200},
		Idle:      Amounts{6, 1200},                             // a: 8−2, b: business over capacity counts 0
		Allowance: Amounts{3, 1000}, Reserved: Amounts{3, 1000}, // a: 5, b: −2 as reported
		Throttled: 1, Evictions: 3}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("cluster point\n got %+v\nwant %+v", c, want)
	}
	if b := v.Hosts[1].Points; len(b) != 1 || b[0].Evictions != 2 || b[0].Throttled != 1 {
		t.Fatalf("b's points = %+v", b)
	}
	if c := v.Cluster[1]; c.Hosts != 1 || c.Evictions != 0 || c.Batch.CPUs != 2 {
		t.Fatalf("second cluster point = %+v", c)
	}
	// since and host select.
	v = h.View("a", t0)
	if len(v.Cluster) != 1 || len(v.Hosts) != 1 || len(v.Hosts[0].Points) != 1 || v.Hosts[0].Points[0].Business.CPUs != 3 {
		t.Fatalf("view of a since t0 = %+v", v)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	h := New(Limits{MaxPoints: 3, MaxHosts: 2})
	for i := range 10 {
		// host-i beats only in poll i; host "steady" in every poll.
		h.Record(t0.Add(time.Duration(i)*time.Second), []monitor.Status{beat("steady", 4, 1, 1, false), beat(fmt.Sprintf("host-%d", i), 4, 1, 1, false)})
	}
	v := h.View("", time.Time{})
	if len(v.Cluster) != 3 || !v.Cluster[0].Time.Equal(t0.Add(7*time.Second)) || !v.Cluster[2].Time.Equal(t0.Add(9*time.Second)) {
		t.Fatalf("cluster keeps the last 3 points, oldest first: %+v", v.Cluster)
	}
	var names []string
	for _, s := range v.Hosts {
		names = append(names, s.Hostname)
		if len(s.Points) > 3 {
			t.Fatalf("%s has %d points", s.Hostname, len(s.Points))
		}
	}
	if !reflect.DeepEqual(names, []string{"host-9", "steady"}) {
		t.Fatalf("hosts kept = %v; want the 2 heard from last", names)
	}
	for range 5000 {
		h.Evicted(fmt.Sprintf("x%d", len(h.evicted)))
	}
	if len(h.evicted) > 3 {
		t.Fatalf("eviction counts by host unbounded: %d", len(h.evicted))
	}
}

func TestDecodeBeat(t *testing.T) {
	cases := []struct {
		host string
		b    string
		ok   bool
	}{
		{"h1", `{"hostname":"h1","capacity":{"cpus":4,"mem_mb":100}}`, true},
		{"h1", `{"capacity":{"cpus":4}}`, true}, // the key names the host
		{"h1", `{"hostname":"h2"}`, false},
		{"h1", `not json`, false},
		{"a/b", `{}`, false},
		{"", `{}`, false},
	}
	for _, c := range cases {
		st, ok := DecodeBeat(c.host, []byte(c.b))
		if ok != c.ok || (ok && st.Hostname != c.host) {
			t.Errorf("DecodeBeat(%q, %s) = %+v, %v; want ok %v", c.host, c.b, st, ok, c.ok)
		}
	}
}

func FuzzDecodeBeat(f *testing.F) {
	f.Add("h1", []byte(`{"hostname":"h1","capacity":{"cpus":4,"mem_mb":100},"throttled":true}`))
	f.Add("h", []byte(`[`))
	f.Fuzz(func(t *testing.T, host string, b []byte) {
		st, ok := DecodeBeat(host, b)
		if ok && st.Hostname != host {
			t.Fatalf("accepted a record of %q under %q", st.Hostname, host)
		}
		if ok {
			h := New(Limits{MaxPoints: 2, MaxHosts: 2})
			h.Record(t0, []monitor.Status{st})
			if v := h.View("", time.Time{}); len(v.Hosts) != 1 {
				t.Fatalf("view %+v", v)
			}
		}
	})
}
