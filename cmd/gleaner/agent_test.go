package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gleaner-project/gleaner/scheduler/attrs"
	"github.com/gleaner-project/gleaner/scheduler/auth"
	"github.com/gleaner-project/gleaner/scheduler/placement"
	"github.com/gleaner-project/gleaner/test/etcdtest"
)

type agentTestSource []attrs.AgentInfo

func (s agentTestSource) Agents() []attrs.AgentInfo { return s }

func runAgentCLI(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	app := newApp()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := runApp(app, append([]string{"gleaner"}, args...))
	return out.String(), err
}

func TestAgentCLI(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default token file
	etcd := etcdtest.Start(t)
	store := attrs.NewStore(etcdtest.NewClient(t, etcd), "")
	src := agentTestSource{{Hostname: "node-1", AgentID: "a1", MesosAttrs: map[string]string{"rack": "r1"},
		Resources: placement.Resources{CPUs: 16, Mem: 32768}, Reserved: placement.Resources{CPUs: 2, Mem: 512}}}
	srv := httptest.NewServer(auth.Require(auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("ops", auth.Admin, "tok"))}, nil,
		attrs.NewHandler(attrs.HandlerConfig{Store: store, Source: src})))
	defer srv.Close()
	env := []string{"GLEANER_API=" + srv.URL, "GLEANER_TOKEN=tok"}

	out, err := runAgentCLI(t, env, "agent", "attrs", "set", "node-1", "zone=eu-1", "ssd=true")
	if err != nil || !strings.Contains(out, "node-1: zone (none) → eu-1") {
		t.Fatalf("set: %v %q", err, out)
	}
	// Flags after the arguments work too; --api overrides the environment.
	out, err = runAgentCLI(t, []string{"GLEANER_API=http://127.0.0.1:1", "GLEANER_TOKEN=tok"}, "agent", "attrs", "get", "node-1", "--api", srv.URL)
	if err != nil || out != "ssd=true\nzone=eu-1\n" {
		t.Fatalf("get: %v %q", err, out)
	}
	out, err = runAgentCLI(t, env, "agent", "list")
	if err != nil || !strings.Contains(out, "node-1") || !strings.Contains(out, "rack=r1,ssd=true,zone=eu-1") || !strings.Contains(out, "silent") {
		t.Fatalf("list: %v %q", err, out)
	}
	out, err = runAgentCLI(t, env, "agent", "list", "-o", "json")
	if err != nil || !strings.Contains(out, `"etcdAttributes"`) {
		t.Fatalf("list json: %v %q", err, out)
	}
	// Bad edits: the server's 400 names the field; nothing changes.
	if _, err = runAgentCLI(t, env, "agent", "attrs", "set", "node-1", "Bad=x"); err == nil || !strings.Contains(err.Error(), "attributes.Bad") || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err = runAgentCLI(t, env, "agent", "attrs", "set", "node-1", "novalue"); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
		t.Fatalf("no =: %v", err)
	}
	if _, err = runAgentCLI(t, []string{"GLEANER_API=" + srv.URL, "GLEANER_TOKEN=nope"}, "agent", "attrs", "set", "node-1", "zone=x"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err = runAgentCLI(t, env, "agent", "attrs", "rm", "node-1", "gpu"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("rm missing: %v", err)
	}
	got, _, err := store.Get(context.Background(), "node-1")
	if err != nil || len(got) != 2 || got["zone"] != "eu-1" {
		t.Fatalf("store after bad edits: %v %v", got, err)
	}
	out, err = runAgentCLI(t, env, "agent", "attrs", "rm", "node-1", "zone")
	if err != nil || !strings.Contains(out, "zone eu-1 → (none)") {
		t.Fatalf("rm: %v %q", err, out)
	}
	out, err = runAgentCLI(t, env, "agent", "attrs", "history", "node-1")
	if err != nil || strings.Count(out, "ops") != 2 || !strings.Contains(out, "delete") {
		t.Fatalf("history: %v %q", err, out)
	}
	// A typo'd hostname is refused, unless --allow-unknown.
	if _, err = runAgentCLI(t, env, "agent", "attrs", "set", "node-l", "zone=x"); err == nil || !strings.Contains(err.Error(), `"node-l"`) || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("unknown host: %v", err)
	}
	if out, err = runAgentCLI(t, env, "agent", "attrs", "set", "node-9", "zone=x", "--allow-unknown"); err != nil || !strings.Contains(out, "node-9: zone (none) → x") {
		t.Fatalf("--allow-unknown: %v %q", err, out)
	}
	// Anonymous reads are refused too.
	if _, err = runAgentCLI(t, []string{"GLEANER_API=" + srv.URL, "GLEANER_TOKEN="}, "agent", "list"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("anonymous list: %v", err)
	}
	if _, err = runAgentCLI(t, env, "agent", "attrs", "get"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("usage: %v", err)
	}
}
