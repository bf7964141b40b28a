package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Role is what a token may do.
type Role string

const (
	// Admin may do everything: submit, kill, edit attributes, read.
	Admin Role = "admin"
	// ReadOnly may read (GET routes, /metrics, logs) and change nothing.
	ReadOnly Role = "read-only"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Admin || r == ReadOnly }

// Allows reports whether a token of role r may make a request that needs
// role need. Unknown roles allow nothing.
func (r Role) Allows(need Role) bool {
	switch r {
	case Admin:
		return need.Valid()
	case ReadOnly:
		return need == ReadOnly
	}
	return false
}

// NeedFor is the role a request with this method needs: reads (GET, HEAD)
// need ReadOnly, everything else Admin.
func NeedFor(method string) Role {
	if method == http.MethodGet || method == http.MethodHead {
		return ReadOnly
	}
	return Admin
}

// Identity is who made a request: the token's name (recorded in audit
// records such as the attribute history) and its role.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Anonymous is the identity of every request when authentication is off
// (--insecure-no-auth).
var Anonymous = Identity{Name: "anonymous", Role: Admin}

// Entry is a token as etcd keeps it: never the secret, only its hash.
type Entry struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
}

// Hash is the hex SHA-256 of a token, as Entry.SHA256 keeps it.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenPrefix starts every generated token, so a leaked one is easy to find
// (e.g. by secret scanners).
const TokenPrefix = "glt_"

// NewToken returns a fresh random token (256 bits).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewEntry makes a token and the entry that verifies it.
func NewEntry(name string, role Role, now time.Time) (token string, e Entry, err error) {
	if !role.Valid() {
		return "", Entry{}, fmt.Errorf("token %s: unknown role %q", name, role)
	}
	token, err = NewToken()
	if err != nil {
		return "", Entry{}, err
	}
	return token, Entry{Name: name, Role: role, SHA256: Hash(token), Created: now.UTC()}, nil
}

var (
	// ErrNoCredential: the request carries no bearer token.
	ErrNoCredential = errors.New("no bearer token (Authorization: Bearer <token>)")
	// ErrUnknownToken: the token matches no entry.
	ErrUnknownToken = errors.New("unknown bearer token")
	// ErrForbidden: the token's role does not allow the request.
	ErrForbidden = errors.New("forbidden")
)

// BearerToken extracts the token of an Authorization header. The scheme
// is matched case-insensitively (RFC 9110 §11.1); ok is false when the
// header is not a non-empty bearer credential.
func BearerToken(header string) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}

// Keyring verifies tokens against entries; safe for concurrent use, and
// its entries can be replaced while it serves (a watch on etcd).
type Keyring struct {
	mu     sync.RWMutex
	byHash map[string]Identity
}

// NewKeyring holds entries (later ones win on equal hashes).
func NewKeyring(entries ...Entry) *Keyring {
	k := &Keyring{}
	k.Replace(entries)
	return k
}

// Replace swaps the entries the keyring verifies against.
func (k *Keyring) Replace(entries []Entry) {
	m := make(map[string]Identity, len(entries))
	for _, e := range entries {
		if e.SHA256 == "" || !e.Role.Valid() {
			continue
		}
		m[strings.ToLower(e.SHA256)] = Identity{Name: e.Name, Role: e.Role}
	}
	k.mu.Lock()
	k.byHash = m
	k.mu.Unlock()
}

// Len is the number of usable entries.
func (k *Keyring) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.byHash)
}

// Verify returns the identity of a token. Tokens are compared by their
// SHA-256, so the lookup's timing says nothing about the secret.
func (k *Keyring) Verify(token string) (Identity, error) {
	if token == "" {
		return Identity{}, ErrNoCredential
	}
	k.mu.RLock()
	id, ok := k.byHash[Hash(token)]
	k.mu.RUnlock()
	if !ok {
		return Identity{}, ErrUnknownToken
	}
	return id, nil
}

// Guard decides requests: whether they carry a valid token whose role
// allows them. A nil Keyring verifies nothing (every token is unknown):
// a guard fails closed unless Insecure is set.
type Guard struct {
	Keyring *Keyring
	// Insecure turns authentication off: every request is Anonymous.
	Insecure bool
}

// Check authenticates an Authorization header for a request that needs
// role need. The error is ErrNoCredential or ErrUnknownToken (answer 401)
// or wraps ErrForbidden (answer 403).
func (g Guard) Check(header string, need Role) (Identity, error) {
	if g.Insecure {
		return Anonymous, nil
	}
	tok, ok := BearerToken(header)
	if !ok {
		return Identity{}, ErrNoCredential
	}
	if g.Keyring == nil {
		return Identity{}, ErrUnknownToken
	}
	id, err := g.Keyring.Verify(tok)
	if err != nil {
		return Identity{}, err
	}
	if !id.Role.Allows(need) {
		return id, fmt.Errorf("%w: token %q is %s; this request needs %s", ErrForbidden, id.Name, id.Role, need)
	}
	return id, nil
}

// StatusFor maps Check's error to an HTTP status: 401 or 403.
func StatusFor(err error) int {
	if errors.Is(err, ErrForbidden) {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

type ctxKey struct{}

// WithIdentity returns ctx carrying who made the request.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns who made the request; ok is false when no guard
// authenticated it.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// EntryFor is the entry that verifies a token given by the operator
// (--token-file) rather than generated.
func EntryFor(name string, role Role, token string) Entry {
	return Entry{Name: name, Role: role, SHA256: Hash(token)}
}
