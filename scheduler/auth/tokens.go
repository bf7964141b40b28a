package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TokenNamePattern is what a token name may look like.
var TokenNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Errors of token management.
var (
	ErrTokenExists    = errors.New("a token with this name exists")
	ErrTokenNotFound  = errors.New("no token with this name")
	ErrLastAdminToken = errors.New("the last admin token cannot be revoked (create another admin token first)")
)

// Create stores a new entry, refusing a name that is taken.
func (s *Store) Create(ctx context.Context, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	k := s.prefix + e.Name
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).Then(clientv3.OpPut(k, string(b))).Commit()
	if err != nil {
		return fmt.Errorf("store token %s: %w", e.Name, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("token %s: %w", e.Name, ErrTokenExists)
	}
	return nil
}

// Revoke deletes a token's entry, unless it is the last admin token: the
// delete holds only while no other entry changed since they were read.
func (s *Store) Revoke(ctx context.Context, name string) error {
	for range 10 {
		entries, rev, err := s.List(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == name })
		if i < 0 {
			return fmt.Errorf("token %s: %w", name, ErrTokenNotFound)
		}
		if entries[i].Role == Admin && !slices.ContainsFunc(entries, func(e Entry) bool { return e.Role == Admin && e.Name != name }) {
			return fmt.Errorf("token %s: %w", name, ErrLastAdminToken)
		}
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.prefix), "<", rev+1).WithPrefix()).
			Then(clientv3.OpDelete(s.prefix + name)).Commit()
		if err != nil {
			return fmt.Errorf("revoke token %s: %w", name, err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("revoke token %s: tokens keep changing", name)
}

// TokenView is a token as the API lists it: never its secret or hash.
type TokenView struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// CreatedToken answers a creation: the secret, shown this once.
type CreatedToken struct {
	TokenView
	Token string `json:"token"`
}

// TokensHandler serves token management under /v1/tokens, behind the API's
// authentication (listing needs read-only, the rest admin):
//
//	GET    /v1/tokens          the tokens' names, roles and creation times
//	POST   /v1/tokens          {"name": N, "role": "admin"|"read-only"} → 201 with the secret, once
//	DELETE /v1/tokens/{name}   revoke (409 for the last admin token)
//
// A revoked token stops working on every scheduler as soon as its watch
// sees the deletion.
func TokensHandler(s *Store, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		entries, _, err := s.List(r.Context())
		if err != nil {
			writeTokenErr(w, http.StatusServiceUnavailable, err.Error(), "")
			return
		}
		out := make([]TokenView, 0, len(entries))
		for _, e := range entries {
			out = append(out, TokenView{Name: e.Name, Role: e.Role, Created: e.Created})
		}
		slices.SortFunc(out, func(a, b TokenView) int { return strings.Compare(a.Name, b.Name) })
		writeTokenJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /v1/tokens", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string `json:"name"`
			Role Role   `json:"role"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				writeTokenErr(w, http.StatusRequestEntityTooLarge, err.Error(), "body")
				return
			}
			writeTokenErr(w, http.StatusBadRequest, "decode token request: "+err.Error(), "body")
			return
		}
		if !TokenNamePattern.MatchString(req.Name) {
			writeTokenErr(w, http.StatusBadRequest, fmt.Sprintf("token name %q must match %s", req.Name, TokenNamePattern), "name")
			return
		}
		if !req.Role.Valid() {
			writeTokenErr(w, http.StatusBadRequest, fmt.Sprintf("role %q must be %q or %q", req.Role, Admin, ReadOnly), "role")
			return
		}
		token, e, err := NewEntry(req.Name, req.Role, now())
		if err == nil {
			err = s.Create(r.Context(), e)
		}
		switch {
		case errors.Is(err, ErrTokenExists):
			writeTokenErr(w, http.StatusConflict, err.Error(), "name")
		case err != nil:
			writeTokenErr(w, http.StatusServiceUnavailable, err.Error(), "")
		default:
			writeTokenJSON(w, http.StatusCreated, CreatedToken{TokenView{e.Name, e.Role, e.Created}, token})
		}
	})
	mux.HandleFunc("DELETE /v1/tokens/{name}", func(w http.ResponseWriter, r *http.Request) {
		err := s.Revoke(r.Context(), r.PathValue("name"))
		switch {
		case errors.Is(err, ErrTokenNotFound):
			writeTokenErr(w, http.StatusNotFound, err.Error(), "name")
		case errors.Is(err, ErrLastAdminToken):
			writeTokenErr(w, http.StatusConflict, err.Error(), "name")
		case err != nil:
			writeTokenErr(w, http.StatusServiceUnavailable, err.Error(), "")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	return mux
}

func writeTokenJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeTokenErr(w http.ResponseWriter, code int, msg, field string) {
	writeTokenJSON(w, code, struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{msg, field})
}
