package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// fakeStatuses is a StatusSource whose statuses the test sets.
type fakeStatuses struct {
	mu       sync.Mutex
	statuses map[string]job.Status
	changed  chan struct{}
}

func newFakeStatuses() *fakeStatuses {
	return &fakeStatuses{statuses: map[string]job.Status{}, changed: make(chan struct{})}
}

func (f *fakeStatuses) JobStatus(id string) (job.Status, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.statuses[id]
	return st, ok
}

func (f *fakeStatuses) StatusesChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func (f *fakeStatuses) set(id string, st *job.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == nil {
		delete(f.statuses, id)
	} else {
		f.statuses[id] = *st
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func watchLines(t *testing.T, srv *httptest.Server, id string) (next func() (job.Status, bool)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/jobs/"+id+"/watch", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	sc := bufio.NewScanner(resp.Body)
	return func() (job.Status, bool) {
		if !sc.Scan() {
			return job.Status{}, false
		}
		var st job.Status
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			t.Fatal(err)
		}
		return st, true
	}
}

// With Config.Statuses a watch's lines after the first are the source's
// statuses (here ones the records never say), not reads of the records;
// a job the source stops knowing is read from the store, and a deleted
// one ends the stream.
func TestWatchFollowsStatusSource(t *testing.T) {
	defer func(d time.Duration) { statusUnknownLimit = d }(statusUnknownLimit)
	statusUnknownLimit = 50 * time.Millisecond
	src := newFakeStatuses()
	b := &fakeBackend{st: store.NewMemory(), leader: true}
	srv := httptest.NewServer(Handler(b, Config{Auth: testGuard(), Statuses: src}))
	defer srv.Close()
	do(t, "POST", srv.URL+"/v1/jobs", "name: w\ntasks: [{name: a, command: 'true', instances: 2}]", adminToken)

	next := watchLines(t, srv, "w-1")
	if st, ok := next(); !ok || st.State != job.Pending {
		t.Fatalf("first line (read from the store): %+v", st)
	}
	src.set("w-1", &job.Status{ID: "w-1", State: job.Running, Reason: "from the source"})
	if st, ok := next(); !ok || st.State != job.Running || st.Reason != "from the source" {
		t.Fatalf("second line: %+v, want the source's running status", st)
	}
	src.set("w-1", &job.Status{ID: "w-1", State: job.Succeeded, Reason: "from the source"})
	if st, ok := next(); !ok || st.State != job.Succeeded {
		t.Fatalf("third line: %+v, want the source's succeeded status", st)
	}
	if st, ok := next(); ok {
		t.Fatalf("stream continued after the final state: %+v", st)
	}

	do(t, "POST", srv.URL+"/v1/jobs", "name: w\ntasks: [{name: a, command: 'true'}]", adminToken)
	next = watchLines(t, srv, "w-2")
	if st, ok := next(); !ok || st.State != job.Pending {
		t.Fatalf("first line of w-2: %+v", st)
	}
	src.set("other", &job.Status{ID: "other"}) // the source read again, without w-2
	if err := b.st.DeleteJob(context.Background(), "w-2"); err != nil {
		t.Fatal(err)
	}
	if st, ok := next(); ok {
		t.Fatalf("a deleted job's stream went on: %+v", st)
	}
}
