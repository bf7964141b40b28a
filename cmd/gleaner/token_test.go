package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/scheduler/api"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/job"
	"github.com/gleaner-project/gleaner/scheduler/node"
	"github.com/gleaner-project/gleaner/scheduler/store"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// gleaner token create|list|revoke against the API's token routes on a
// real etcd: the created secret works for reads at once (the keyring
// follows etcd), is never listed, and stops working once revoked.
func TestTokenCLI(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := auth.NewStore(cli, "/g/")
	b, err := st.Bootstrap(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := auth.NewKeyring(b.Entries...)
	go st.Watch(ctx, b.Revision, k.Replace, nil)
	admin, err := os.ReadFile(b.Files["admin"])
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.TokensHandler(st, nil)
	srv := httptest.NewServer(api.Handler(instantBackend{store.NewMemory()}, api.Config{Auth: auth.Guard{Keyring: k},
		Mount: map[string]http.Handler{"/v1/tokens": tokens, "/v1/tokens/": tokens}}))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", strings.TrimSpace(string(admin)))

	secretFile := filepath.Join(t.TempDir(), "grafana.token")
	if out, err := runJobCLI(t, "token", "create", "grafana", "--out", secretFile); err != nil || !strings.Contains(out, "grafana (read-only) written to") {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	secret, _ := os.ReadFile(secretFile)
	out, err := runJobCLI(t, "token", "list")
	if err != nil || !strings.Contains(out, "grafana") || !strings.Contains(out, "read-only") || strings.Contains(out, strings.TrimSpace(string(secret))) {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	if _, err := runJobCLI(t, "token", "create", "Bad Name"); err == nil || !strings.Contains(err.Error(), "must match") {
		t.Fatalf("token create with a bad name: %v", err)
	}
	if _, err := runJobCLI(t, "token", "revoke", "admin"); err == nil || !strings.Contains(err.Error(), "last admin token") {
		t.Fatalf("revoke the last admin token: %v", err)
	}
	if _, err := runJobCLI(t, "token", "revoke", "grafana"); err != nil {
		t.Fatalf("token revoke: %v", err)
	}
	// The keyring follows etcd through a watch: the secret stops working
	// within moments.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := runJobCLI(t, "token", "list", "--token-file", secretFile)
		if err != nil && strings.Contains(err.Error(), "unknown bearer token") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token still works: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// purgeBackend answers purge like a scheduler: 409 until the job was
// killed, then the job's records go.
type purgeBackend struct {
	instantBackend
	killed map[string]bool
}

func (b purgeBackend) Kill(ctx context.Context, id string) (*job.Job, error) {
	b.killed[id] = true
	return b.st.UpdateJob(ctx, id, func(j *job.Job) error { j.KillRequested = true; return nil })
}
func (b purgeBackend) Suspend(ctx context.Context, id string) (*job.Job, error) { return nil, nil }
func (b purgeBackend) Resume(ctx context.Context, id string) (*job.Job, error)  { return nil, nil }
func (b purgeBackend) Retry(ctx context.Context, id string, _ bool) (*job.Job, error) {
	return nil, nil
}
func (b purgeBackend) Purge(ctx context.Context, id string) (*job.Job, error) {
	j, err := b.st.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !b.killed[id] {
		return nil, &node.ConflictError{Msg: "job " + id + " has not finished; kill it first"}
	}
	return j, b.st.DeleteJob(ctx, id)
}

func TestJobDeleteCLI(t *testing.T) {
	st := store.NewMemory()
	b := purgeBackend{instantBackend{st}, map[string]bool{}}
	if err := st.CreateJob(context.Background(), &job.Job{ID: "long-1", Spec: job.Spec{Name: "long", Tasks: []job.TaskSpec{{Name: "a", Command: "true", Instances: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAttempts(context.Background(), []job.Attempt{{Job: "long-1", Task: "a", State: job.AttemptKilled}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler(b, testAPIConfig()))
	defer srv.Close()
	t.Setenv("GLEANER_API", srv.URL)
	t.Setenv("GLEANER_TOKEN", "tok")
	if _, err := runJobCLI(t, "job", "delete", "long-1"); err == nil || !strings.Contains(err.Error(), "--kill") {
		t.Fatalf("delete a running job: %v, want a hint to kill it first", err)
	}
	out, err := runJobCLI(t, "job", "delete", "--kill", "long-1")
	if err != nil || !strings.Contains(out, "long-1 deleted") {
		t.Fatalf("delete --kill: %v\n%s", err, out)
	}
	if _, err := st.GetJob(context.Background(), "long-1"); err == nil {
		t.Fatal("the job is still stored")
	}
}
