package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gleaner-project/gleaner/scheduler/spec"
)

// Bounds of a webhooks file.
const (
	MaxWebhooksFileBytes = 64 << 10
	MaxWebhooks          = 32
	MinSecretBytes       = 16
	MaxSecretBytes       = 4 << 10
	MaxEventPatterns     = 32
)

// Webhook is one receiver of events.
type Webhook struct {
	Name   string
	URL    string
	Secret []byte
	// Events filters by type ("job.*", "task.failed", "*"); empty: all.
	Events []string
}

// hookFile is one entry of a webhooks file.
type hookFile struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// SecretFile holds the HMAC secret (relative to the webhooks file).
	SecretFile string   `json:"secretFile"`
	Events     []string `json:"events,omitempty"`
}

var patternRE = regexp.MustCompile(`^(\*|(job|task|instance)\.(\*|[a-z]+))$`)

// ParseWebhooks reads a webhooks file (YAML or JSON, the scheduler's
// --webhooks):
//
//	webhooks:
//	  - name: ci                        # [a-z0-9-]{1,63}, unique
//	    url: https://ci.example/hook    # http or https
//	    secretFile: ci.secret           # 16 bytes to 4 KiB, mode 0600; relative to this file
//	    events: ["job.*", "task.failed"]  # optional; default all
//
// readFile reads secret files (os.ReadFile in the scheduler). Errors name
// the field, e.g. webhooks[1].url.
func ParseWebhooks(path string, data []byte, readFile func(string) ([]byte, error)) ([]Webhook, error) {
	if len(data) > MaxWebhooksFileBytes {
		return nil, fmt.Errorf("webhooks file %s: %d bytes, at most %d", path, len(data), MaxWebhooksFileBytes)
	}
	js, err := spec.YAMLToJSON("webhooks file", data)
	if err != nil {
		return nil, fmt.Errorf("webhooks file %s: %w", path, err)
	}
	var doc struct {
		Webhooks []hookFile `json:"webhooks"`
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("webhooks file %s: %w", path, err)
	}
	if len(doc.Webhooks) > MaxWebhooks {
		return nil, fmt.Errorf("webhooks file %s: %d webhooks, at most %d", path, len(doc.Webhooks), MaxWebhooks)
	}
	seen := map[string]bool{}
	var out []Webhook
	for i, h := range doc.Webhooks {
		field := func(f string) string { return fmt.Sprintf("webhooks file %s: webhooks[%d].%s", path, i, f) }
		if !spec.ValidName(h.Name) || seen[h.Name] {
			return nil, fmt.Errorf("%s: %q must be a unique [a-z0-9-]{1,63}", field("name"), h.Name)
		}
		seen[h.Name] = true
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not an http(s) URL", field("url"), h.URL)
		}
		if h.SecretFile == "" {
			return nil, fmt.Errorf("%s: required (every webhook is signed)", field("secretFile"))
		}
		sf := h.SecretFile
		if !filepath.IsAbs(sf) {
			sf = filepath.Join(filepath.Dir(path), sf)
		}
		secret, err := readFile(sf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field("secretFile"), err)
		}
		secret = bytes.TrimSpace(secret)
		if len(secret) < MinSecretBytes || len(secret) > MaxSecretBytes {
			return nil, fmt.Errorf("%s: %s holds %d bytes; a secret has %d to %d", field("secretFile"), sf, len(secret), MinSecretBytes, MaxSecretBytes)
		}
		if len(h.Events) > MaxEventPatterns {
			return nil, fmt.Errorf("%s: %d patterns, at most %d", field("events"), len(h.Events), MaxEventPatterns)
		}
		for j, p := range h.Events {
			if !patternRE.MatchString(p) {
				return nil, fmt.Errorf("%s: %q is not an event type or pattern (job.*, task.failed, *)", field(fmt.Sprintf("events[%d]", j)), p)
			}
		}
		out = append(out, Webhook{Name: h.Name, URL: h.URL, Secret: secret, Events: h.Events})
	}
	return out, nil
}

// LoadWebhooks reads and parses the webhooks file at path ("" means none).
func LoadWebhooks(path string) ([]Webhook, error) {
	if strings.TrimSpace(path) == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhooks file: %w", err)
	}
	return ParseWebhooks(path, b, readPrivate)
}

// readPrivate reads a secret file that only its owner may read or write
// (as ssh insists for private keys): a secret others can read signs
// nothing.
func readPrivate(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v; a secret file must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	return os.ReadFile(path)
}
