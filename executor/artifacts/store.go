package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Store keeps objects by key ("jobs/<job>/..."). Implementations are safe
// for concurrent use.
type Store interface {
	// Put stores size bytes of r under key, replacing any object there; a
	// reader never sees a partial object.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object under key; ErrNotFound when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// DeletePrefix removes every object whose key starts with prefix
	// (a whole "jobs/<job>/"), and succeeds when there is none.
	DeletePrefix(ctx context.Context, prefix string) error
}

// ErrNotFound is returned (wrapped) by Get for a missing object.
var ErrNotFound = errors.New("artifact not found")

// Config is where artifacts are kept, as the scheduler's --artifact-store
// gives it, with the S3 credentials (never on a command line).
type Config struct {
	// URL is dir:///absolute/path, or
	// s3://bucket[/prefix]?endpoint=host:port[&insecure=true][&region=r].
	URL             string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// Location is a parsed store URL.
type Location struct {
	Scheme   string // "dir" or "s3"
	Dir      string // dir: the directory
	Bucket   string // s3
	Prefix   string // s3: key prefix without a leading or trailing slash
	Endpoint string // s3: host:port
	Insecure bool   // s3: plain HTTP
	Region   string // s3
}

// MaxURLLength bounds a store URL.
const MaxURLLength = 2048

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseURL checks a store URL; its errors name what is wrong.
func ParseURL(raw string) (Location, error) {
	if len(raw) > MaxURLLength {
		return Location{}, fmt.Errorf("artifact store URL longer than %d bytes", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("artifact store URL: %w", err)
	}
	if u.User != nil {
		return Location{}, errors.New("artifact store URL: credentials do not belong in the URL (give them in the environment or a file)")
	}
	switch u.Scheme {
	case "dir":
		if u.Host != "" || u.RawQuery != "" || !path.IsAbs(u.Path) || path.Clean(u.Path) != u.Path || u.Path == "/" {
			return Location{}, fmt.Errorf("artifact store URL %q: want dir:///absolute/clean/path", raw)
		}
		return Location{Scheme: "dir", Dir: u.Path}, nil
	case "s3":
		loc := Location{Scheme: "s3", Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
		if !bucketRE.MatchString(loc.Bucket) {
			return Location{}, fmt.Errorf("artifact store URL %q: bucket %q is not a valid S3 bucket name", raw, loc.Bucket)
		}
		if loc.Prefix != "" {
			if err := checkKey(loc.Prefix); err != nil {
				return Location{}, fmt.Errorf("artifact store URL %q: prefix: %w", raw, err)
			}
		}
		q := u.Query()
		for k := range q {
			switch k {
			case "endpoint", "insecure", "region":
			default:
				return Location{}, fmt.Errorf("artifact store URL %q: unknown parameter %q (endpoint, insecure, region)", raw, k)
			}
		}
		loc.Endpoint = q.Get("endpoint")
		if loc.Endpoint == "" {
			loc.Endpoint = "s3.amazonaws.com"
		}
		if strings.Contains(loc.Endpoint, "/") {
			return Location{}, fmt.Errorf("artifact store URL %q: endpoint %q must be host[:port]", raw, loc.Endpoint)
		}
		switch q.Get("insecure") {
		case "", "false":
		case "true":
			loc.Insecure = true
		default:
			return Location{}, fmt.Errorf("artifact store URL %q: insecure must be true or false", raw)
		}
		loc.Region = q.Get("region")
		return loc, nil
	}
	return Location{}, fmt.Errorf("artifact store URL %q: scheme must be dir or s3", raw)
}

// Open returns the store cfg names.
func Open(cfg Config) (Store, error) {
	loc, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if loc.Scheme == "dir" {
		return NewDirStore(loc.Dir)
	}
	return NewS3Store(loc, cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
}

var keySegmentRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$`)

// checkKey accepts slash-separated segments of [A-Za-z0-9._-] not starting
// with a dot (so neither "." nor ".." nor hidden names).
func checkKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("key %q: empty or longer than 1024 bytes", key)
	}
	for _, s := range strings.Split(key, "/") {
		if !keySegmentRE.MatchString(s) {
			return fmt.Errorf("key %q: segment %q must match [A-Za-z0-9_][A-Za-z0-9._-]*", key, s)
		}
	}
	return nil
}

// checkPrefix accepts a key followed by a slash.
func checkPrefix(prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("prefix %q must end with /", prefix)
	}
	return checkKey(strings.TrimSuffix(prefix, "/"))
}
