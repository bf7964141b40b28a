package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gleaner-project/gleaner/test/etcdtest"
)

// Token management over HTTP, behind the guard, on a real etcd: an admin
// creates a read-only token (its secret answered once), which then works
// for reads and not for writes; listing shows no secret nor hash; bad
// names and roles are 400 naming the field; the last admin token cannot
// be revoked; a revoked token stops working.
func TestTokensHandler(t *testing.T) {
	cli := etcdtest.NewClient(t, etcdtest.Start(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := NewStore(cli, "/g/")
	b, err := st.Bootstrap(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeyring(b.Entries...)
	go st.Watch(ctx, b.Revision, k.Replace, nil)
	admin := readToken(t, b.Files["admin"])
	srv := httptest.NewServer(Require(Guard{Keyring: k}, nil, TokensHandler(st, nil)))
	defer srv.Close()
	call := func(method, path, token, body string) (int, map[string]any, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		return resp.StatusCode, m, string(raw)
	}
	awaitVerify := func(token string, want error) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := k.Verify(token)
			if (want == nil && err == nil) || (want != nil && errors.Is(err, want)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Verify = %v, want %v", err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	code, m, _ := call("POST", "/v1/tokens", admin, `{"name":"grafana","role":"read-only"}`)
	secret, _ := m["token"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(secret, TokenPrefix) || m["role"] != "read-only" {
		t.Fatalf("create: %d %v", code, m)
	}
	awaitVerify(secret, nil)
	if code, _, _ := call("GET", "/v1/tokens", secret, ""); code != http.StatusOK {
		t.Fatalf("list with the new read-only token: %d", code)
	}
	if code, _, _ := call("POST", "/v1/tokens", secret, `{"name":"x","role":"admin"}`); code != http.StatusForbidden {
		t.Fatalf("create with a read-only token: %d, want 403", code)
	}
	if code, _, _ := call("GET", "/v1/tokens", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("list without a token: %d, want 401", code)
	}
	code, _, raw := call("GET", "/v1/tokens", admin, "")
	if code != http.StatusOK || !strings.Contains(raw, `"grafana"`) || strings.Contains(raw, "sha256") || strings.Contains(raw, secret) {
		t.Fatalf("list: %d %s", code, raw)
	}
	for body, field := range map[string]string{
		`{"name":"grafana","role":"read-only"}`: "name",
		`{"name":"Bad Name","role":"admin"}`:    "name",
		`{"name":"ok","role":"root"}`:           "role",
		`{"name":"ok","role":"admin","x":1}`:    "body",
		`not json`:                              "body",
	} {
		code, m, _ := call("POST", "/v1/tokens", admin, body)
		if (code != http.StatusBadRequest && code != http.StatusConflict) || m["field"] != field {
			t.Errorf("create %s: %d %v, want 400/409 naming %s", body, code, m, field)
		}
	}
	if code, m, _ := call("DELETE", "/v1/tokens/admin", admin, ""); code != http.StatusConflict {
		t.Fatalf("revoke the last admin token: %d %v, want 409", code, m)
	}
	if code, _, _ := call("DELETE", "/v1/tokens/nope", admin, ""); code != http.StatusNotFound {
		t.Fatalf("revoke a missing token: %d, want 404", code)
	}
	if code, _, _ := call("DELETE", "/v1/tokens/grafana", admin, ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	awaitVerify(secret, ErrUnknownToken)
}
