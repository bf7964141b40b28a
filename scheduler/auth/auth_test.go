package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"  Bearer abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	} {
		got, ok := BearerToken(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRoleAllowsAndNeedFor(t *testing.T) {
	for _, tc := range []struct {
		role, need Role
		want       bool
	}{
		{Admin, Admin, true},
		{Admin, ReadOnly, true},
		{ReadOnly, ReadOnly, true},
		{ReadOnly, Admin, false},
		{"", ReadOnly, false},
		{"root", Admin, false},
		{Admin, "root", false},
	} {
		if got := tc.role.Allows(tc.need); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tc.role, tc.need, got, tc.want)
		}
	}
	for method, want := range map[string]Role{"GET": ReadOnly, "HEAD": ReadOnly, "POST": Admin, "PUT": Admin,
		"PATCH": Admin, "DELETE": Admin, "OPTIONS": Admin, "get": Admin} {
		if got := NeedFor(method); got != want {
			t.Errorf("NeedFor(%s) = %s, want %s", method, got, want)
		}
	}
}

func TestGuardCheck(t *testing.T) {
	admin, ae, _ := NewEntry("admin", Admin, time.Now())
	reader, re, _ := NewEntry("dashboard", ReadOnly, time.Now())
	k := NewKeyring(ae, re)
	for _, tc := range []struct {
		name   string
		g      Guard
		header string
		need   Role
		want   Identity
		err    error
		code   int
	}{
		{"admin writes", Guard{Keyring: k}, "Bearer " + admin, Admin, Identity{"admin", Admin}, nil, 0},
		{"admin reads", Guard{Keyring: k}, "bearer " + admin, ReadOnly, Identity{"admin", Admin}, nil, 0},
		{"reader reads", Guard{Keyring: k}, "Bearer " + reader, ReadOnly, Identity{"dashboard", ReadOnly}, nil, 0},
		{"reader cannot write", Guard{Keyring: k}, "Bearer " + reader, Admin, Identity{"dashboard", ReadOnly}, ErrForbidden, 403},
		{"no header", Guard{Keyring: k}, "", ReadOnly, Identity{}, ErrNoCredential, 401},
		{"wrong token", Guard{Keyring: k}, "Bearer " + admin + "x", ReadOnly, Identity{}, ErrUnknownToken, 401},
		{"the hash is not a token", Guard{Keyring: k}, "Bearer " + ae.SHA256, ReadOnly, Identity{}, ErrUnknownToken, 401},
		{"nil keyring fails closed", Guard{}, "Bearer " + admin, ReadOnly, Identity{}, ErrUnknownToken, 401},
		{"empty keyring fails closed", Guard{Keyring: NewKeyring()}, "Bearer " + admin, ReadOnly, Identity{}, ErrUnknownToken, 401},
		{"insecure lets anyone in", Guard{Insecure: true}, "", Admin, Anonymous, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.g.Check(tc.header, tc.need)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("Check = %+v, %v; want %+v, %v", got, err, tc.want, tc.err)
			}
			if err != nil && StatusFor(err) != tc.code {
				t.Fatalf("StatusFor(%v) = %d, want %d", err, StatusFor(err), tc.code)
			}
		})
	}
}

func TestKeyringReplaceRevokes(t *testing.T) {
	tok, e, _ := NewEntry("ci", Admin, time.Now())
	k := NewKeyring(e)
	if _, err := k.Verify(tok); err != nil {
		t.Fatal(err)
	}
	k.Replace(nil)
	if _, err := k.Verify(tok); !errors.Is(err, ErrUnknownToken) {
		t.Fatalf("revoked token: %v", err)
	}
	k.Replace([]Entry{{Name: "bad", Role: "superuser", SHA256: Hash("x")}})
	if _, err := k.Verify("x"); !errors.Is(err, ErrUnknownToken) || k.Len() != 0 {
		t.Fatalf("an entry with an unknown role is usable: %v (len %d)", err, k.Len())
	}
}

func TestNewTokenIsRandomAndPrefixed(t *testing.T) {
	a, _ := NewToken()
	b, _ := NewToken()
	if a == b || !strings.HasPrefix(a, TokenPrefix) || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if _, _, err := NewEntry("x", "owner", time.Now()); err == nil {
		t.Fatal("NewEntry accepted an unknown role")
	}
}

func TestRequire(t *testing.T) {
	admin, ae, _ := NewEntry("ops", Admin, time.Now())
	reader, re, _ := NewEntry("dash", ReadOnly, time.Now())
	var seen Identity
	h := Require(Guard{Keyring: NewKeyring(ae, re)}, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
	}))
	for _, tc := range []struct {
		method, token string
		code          int
		who           string
	}{
		{"GET", "", 401, ""},
		{"GET", reader, 200, "dash"},
		{"POST", reader, 403, ""},
		{"POST", admin, 200, "ops"},
	} {
		seen = Identity{}
		req := httptest.NewRequest(tc.method, "/v1/jobs", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || seen.Name != tc.who {
			t.Errorf("%s with %q: %d, identity %+v; want %d, %q", tc.method, tc.token, rec.Code, seen, tc.code, tc.who)
		}
		if tc.code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
		if tc.code >= 400 && !strings.Contains(rec.Body.String(), `"field":"Authorization"`) {
			t.Errorf("refusal body %s", rec.Body)
		}
	}
}
