// Package apikeys keeps the API's one JSON key style, lowerCamelCase
// ("agentId", "memMb", "intervalSeconds"), and the one-release
// compatibility with the snake_case keys some responses used before
// ("agent_id", "mem_mb"): a client that asks ?keys=snake gets them back.
//
// Records other processes read (the monitor's heartbeats and eviction
// requests in etcd, the Mesos state JSON) keep their own snake_case: they
// are storage and protocol contracts, converted here only where the API
// shows them.
package apikeys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Camel turns a snake_case key into lowerCamelCase: "batch_disk_mb" ->
// "batchDiskMb". A key without '_' is returned as it is.
func Camel(k string) string {
	if !strings.Contains(k, "_") {
		return k
	}
	var b strings.Builder
	up := false
	for i, r := range k {
		switch {
		case r == '_' && i > 0:
			up = true
		case up && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			up = false
		default:
			b.WriteRune(r)
			up = false
		}
	}
	return b.String()
}

// Snake turns a lowerCamelCase key into snake_case: "batchDiskMb" ->
// "batch_disk_mb" (the inverse of Camel for keys made of lower-case words).
func Snake(k string) string {
	var b strings.Builder
	for i, r := range k {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r - 'A' + 'a')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Rewrite returns raw with every object key passed through conv, at any
// depth, except below a key named in opaque (maps whose keys are data, such
// as attributes: kept as they are). Numbers keep their text.
func Rewrite(raw []byte, conv func(string) string, opaque map[string]bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("rewrite keys: %w", err)
	}
	return json.Marshal(rewrite(v, conv, opaque))
}

func rewrite(v any, conv func(string) string, opaque map[string]bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if opaque[k] {
				out[conv(k)] = e
				continue
			}
			out[conv(k)] = rewrite(e, conv, opaque)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = rewrite(e, conv, opaque)
		}
		return t
	}
	return v
}

// SnakeKeys lists the keys of raw (at any depth, but not below a key in
// opaque) that are not lowerCamelCase: with '_' or '-', or starting upper
// case. Tests run every response through it.
func SnakeKeys(raw []byte, opaque map[string]bool) ([]string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var bad []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if strings.ContainsAny(k, "_-") || (k != "" && k[0] >= 'A' && k[0] <= 'Z') {
					bad = append(bad, path+"."+k)
				}
				if !opaque[k] {
					walk(e, path+"."+k)
				}
			}
		case []any:
			for _, e := range t {
				walk(e, path+"[]")
			}
		}
	}
	walk(v, "")
	return bad, nil
}

// Style is the key style a request asked for with ?keys=.
type Style int

const (
	// CamelCase is the default and the only style after the next release.
	CamelCase Style = iota
	// SnakeCase is the deprecated style of /v1/agents and /v1/harvest
	// before this release, kept for one release.
	SnakeCase
)

// Deprecation is the Warning header sent with a ?keys=snake answer.
const Deprecation = `299 gleaner "keys=snake is deprecated and will be removed in the next release: read the camelCase keys"`

// RequestStyle reads ?keys= (camel, the default, or snake); an error names
// the parameter and the value.
func RequestStyle(r *http.Request) (Style, error) {
	switch s := r.URL.Query().Get("keys"); s {
	case "", "camel":
		return CamelCase, nil
	case "snake":
		return SnakeCase, nil
	default:
		if len(s) > 32 {
			s = s[:32] + "..."
		}
		return CamelCase, fmt.Errorf("keys: want camel or snake, got %q", s)
	}
}

// Render returns what to encode for a response in the style asked: v itself
// for camelCase, else v's JSON with its keys rewritten to snake_case (the
// maps named in opaque keep theirs: they hold data, not field names). A
// snake_case answer goes out with the Deprecation warning.
func Render(style Style, v any, opaque map[string]bool) (any, error) {
	if style == CamelCase {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err == nil {
		b, err = Rewrite(b, Snake, opaque)
	}
	if err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}
