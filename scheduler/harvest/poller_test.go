package harvest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/apikeys"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// The poller reads the heartbeats from a real etcd, counts an eviction
// request even when it is deleted before the next read, and the handler
// serves what it recorded.
func TestPollerAgainstEtcd(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	put := func(k, v string) {
		t.Helper()
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(beat("h1", 8, 2, 1, true))
	put("/g/monitors/h1", string(b))
	put("/g/monitors/bad", "not json")
	h := New(Limits{})
	p := &Poller{Client: cli, Prefix: "/g/", Interval: time.Hour, History: h}
	go p.Run(ctx) // first poll now, then hourly
	deadline := time.Now().Add(20 * time.Second)
	for len(h.View("", time.Time{}).Cluster) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no poll recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An eviction request created and handled (deleted) between polls.
	// The watch starts with Run; put until it has been seen.
	for h.pendingEvictions() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("eviction request never counted")
		}
		put("/g/evictions/h1", `{"id":"e1"}`)
		if _, err := cli.Delete(ctx, "/g/evictions/h1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(h, time.Hour))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/harvest?host=h1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if v.IntervalSeconds != 3600 || len(v.Hosts) != 1 || len(v.Hosts[0].Points) != 2 {
		t.Fatalf("view = %+v", v)
	}
	last := v.Hosts[0].Points[1]
	if last.Evictions < 1 || last.Throttled != 1 || last.Idle.CPUs != 6 || v.Cluster[len(v.Cluster)-1].Hosts != 1 {
		t.Fatalf("last point = %+v (the bad record must be skipped, the eviction counted)", last)
	}
	// One key style (camelCase); ?keys=snake gives the release before's
	// keys, deprecated; any other style is refused naming the parameter.
	body := func(q string) (int, []byte) {
		r, err := http.Get(srv.URL + "/v1/harvest" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, b
	}
	code, b := body("")
	if bad, err := apikeys.SnakeKeys(b, nil); code != 200 || err != nil || len(bad) != 0 || !strings.Contains(string(b), `"memMb"`) {
		t.Fatalf("keys not camelCase: %d %v %v in %s", code, bad, err, b)
	}
	code, b = body("?keys=snake")
	if code != 200 || !strings.Contains(string(b), `"interval_seconds":3600`) || !strings.Contains(string(b), `"mem_mb"`) || strings.Contains(string(b), `"memMb"`) {
		t.Fatalf("keys=snake: %d %s", code, b)
	}
	if code, b = body("?keys=kebab"); code != 400 || !strings.Contains(string(b), `"field":"keys"`) {
		t.Fatalf("keys=kebab: %d %s", code, b)
	}
	resp2, _ := http.Get(srv.URL + "/v1/harvest?since=yesterday")
	if resp2.StatusCode != 400 {
		t.Fatalf("bad since: %d", resp2.StatusCode)
	}
	resp2.Body.Close()
}
