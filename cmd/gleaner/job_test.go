package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/store"
)

// instantBackend "runs" a job at submit: every instance succeeds, or fails
// when the task's command is "false".
type instantBackend struct{ st *store.Memory }

func (b instantBackend) Submit(ctx context.Context, sp *job.Spec) (*job.Job, error) {
	// IDs name-1, name-2, … in submission order.
	j := &job.Job{Spec: *sp, Submitted: time.Now()}
	for n := 1; ; n++ {
		j.ID = fmt.Sprintf("%s-%d", sp.Name, n)
		err := b.st.CreateJob(ctx, j)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	go func() {
		var as []job.Attempt
		for _, t := range sp.Tasks {
			for i := 0; i < t.Instances; i++ {
				a := job.Attempt{Job: j.ID, Task: t.Name, Index: i, State: job.AttemptSucceeded, Ended: time.Now()}
				if t.Command == "false" {
					four := 4
					a.State, a.ExitCode, a.Message = job.AttemptFailed, &four, "exited with status 4"
				}
				as = append(as, a)
			}
		}
		b.st.PutAttempts(context.Background(), as)
	}()
	return j, nil
}
func (b instantBackend) Kill(ctx context.Context, id string) (*job.Job, error) {
	return b.st.GetJob(ctx, id)
}
func (b instantBackend) Store() store.Store { return b.st }
func (b instantBackend) IsLeader() bool     { return true }
func (b instantBackend) Subscribed() bool   { return true }
func (b instantBackend) LeaderURL(context.Context) string {
	return ""
}

// testAPIConfig knows the admin token "tok" and the read-only "ro".
func testAPIConfig() api.Config {
	return api.Config{Auth: auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("ops", auth.Admin, "tok"), auth.EntryFor("dash", auth.ReadOnly, "ro"))}}
}

func runJobCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	old := cli.OsExiter
	cli.OsExiter = func(int) {}
	defer func() { cli.OsExiter = old }()
	err := runApp(app, append([]string{"gleaner"}, args...))
	return out.String(), err
}

func TestJobCLI(t *testing.T) {
	srv := httptest.NewServer(api.Handler(instantBackend{store.NewMemory()}, testAPIConfig()))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(doc), 0o644)
		return p
	}
	good := write("good.yaml", "name: good\ntasks: [{name: a, command: 'true', instances: 3}]")
	bad := write("bad.yaml", "name: bad\ntasks: [{name: a, command: 'false', retries: 0}]")
	invalid := write("invalid.yaml", "name: x\ntasks: [{name: a, command: 'true', resources: {cpus: -2}}]")

	out, err := runJobCLI(t, "job", "submit", "-f", good, "--watch")
	if err != nil || !strings.Contains(out, "succeeded") {
		t.Fatalf("submit --watch good: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "submit", "-f", bad, "--watch")
	if err == nil || !strings.Contains(out, "failed") {
		t.Fatalf("submit --watch of a failing job must fail: %v\n%s", err, out)
	}
	if ec, ok := err.(cli.ExitCoder); !ok || ec.ExitCode() != 1 {
		t.Fatalf("exit code: %v", err)
	}
	_, err = runJobCLI(t, "job", "submit", "-f", invalid)
	if err == nil || !strings.Contains(err.Error(), "tasks[0].resources.cpus") {
		t.Fatalf("invalid spec: %v", err)
	}
	out, err = runJobCLI(t, "job", "list")
	if err != nil || !strings.Contains(out, "good-1") || !strings.Contains(out, "bad-1") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "-o", "json", "good-1")
	if err != nil || !strings.Contains(out, `"state": "succeeded"`) {
		t.Fatalf("get -o json: %v\n%s", err, out)
	}
	out, err = runJobCLI(t, "job", "get", "good-1", "a/2")
	if err != nil || !strings.Contains(out, "good-1.a.2.0") {
		t.Fatalf("get instance: %v\n%s", err, out)
	}
	// A read-only token reads and cannot submit.
	t.Setenv("GLEANER_TOKEN", "ro")
	if _, err := runJobCLI(t, "job", "list"); err != nil {
		t.Fatalf("list with the read-only token: %v", err)
	}
	if _, err := runJobCLI(t, "job", "submit", "-f", good); err == nil || !strings.Contains(err.Error(), "needs admin") {
		t.Fatalf("submit with the read-only token: %v", err)
	}
	t.Setenv("GLEANER_TOKEN", "wrong")
	if _, err := runJobCLI(t, "job", "submit", "-f", good); err == nil || !strings.Contains(err.Error(), "unknown bearer token") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := runJobCLI(t, "job", "list", "-o", "xml"); err == nil {
		t.Fatal("-o xml accepted")
	}
}
