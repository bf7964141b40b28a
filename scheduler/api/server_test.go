package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// The server has read and write timeouts, yet a watch stream outlives
// them: its write deadline moves with every line.
func TestWatchOutlivesServerTimeouts(t *testing.T) {
	b := &fakeBackend{st: store.NewMemory(), leader: true}
	timeouts := Timeouts{ReadHeader: 200 * time.Millisecond, Read: 200 * time.Millisecond, Write: 300 * time.Millisecond, Idle: time.Second}
	srv := NewServer(b, Config{Auth: testGuard(), Timeouts: timeouts})
	if srv.ReadTimeout != timeouts.Read || srv.WriteTimeout != timeouts.Write || srv.IdleTimeout != timeouts.Idle || srv.ReadHeaderTimeout != timeouts.ReadHeader {
		t.Fatalf("server timeouts %v %v %v %v", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sp := &job.Spec{Name: "w", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 1}}}
	j, err := b.Submit(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+l.Addr().String()+"/v1/jobs/"+j.ID+"/watch", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan job.Status)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var st job.Status
			if json.Unmarshal(sc.Bytes(), &st) == nil {
				lines <- st
			}
		}
	}()
	if st := <-lines; st.State != job.Pending {
		t.Fatalf("first line %+v", st)
	}
	// Quiet for three write timeouts and more than the read timeout.
	time.Sleep(4 * timeouts.Write)
	if err := b.st.PutAttempts(ctx, []job.Attempt{{Job: j.ID, Task: "a", Index: 0, State: job.AttemptRunning}}); err != nil {
		t.Fatal(err)
	}
	select {
	case st, ok := <-lines:
		if !ok || st.State != job.Running {
			t.Fatalf("after the quiet spell: %+v (stream open: %v)", st, ok)
		}
	case <-ctx.Done():
		t.Fatal("no line after the quiet spell")
	}
}
