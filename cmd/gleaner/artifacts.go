package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gleaner-project/gleaner/executor/artifacts"
	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// Environment variables holding the S3 artifact store's credentials (the
// AWS_* names are read when these are unset).
const (
	envArtifactAccessKey    = "GLEANER_ARTIFACT_ACCESS_KEY_ID"
	envArtifactSecretKey    = "GLEANER_ARTIFACT_SECRET_ACCESS_KEY"
	envArtifactSessionToken = "GLEANER_ARTIFACT_SESSION_TOKEN"
)

// maxCredentialsFile bounds --artifact-credentials.
const maxCredentialsFile = 16 << 10

func artifactStoreFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "artifact-store", Usage: "`URL` where tasks' artifacts are kept: dir:///shared/path (a directory every agent mounts) or " +
			"s3://bucket/prefix?endpoint=host:port[&insecure=true][&region=r]; without it, specs with artifacts are refused"},
		&cli.StringFlag{Name: "artifact-credentials", Usage: "`FILE` (mode 0600) of the S3 store's credentials, lines access_key_id=..., secret_access_key=..., " +
			"optionally session_token=...; else $" + envArtifactAccessKey + " and $" + envArtifactSecretKey + " (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"},
	}
}

// artifactStoreConfig reads --artifact-store and its credentials; nil when
// no store is configured. dflt is the URL used without the flag ("" for
// none).
func artifactStoreConfig(c *cli.Context, dflt string) (*gleanerpb.ArtifactStore, error) {
	u := c.String("artifact-store")
	if u == "" {
		u = dflt
	}
	if u == "" {
		if c.String("artifact-credentials") != "" {
			return nil, fmt.Errorf("--artifact-credentials without --artifact-store")
		}
		return nil, nil
	}
	loc, err := artifacts.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("--artifact-store: %w", err)
	}
	store := &gleanerpb.ArtifactStore{Url: u}
	if loc.Scheme != "s3" {
		return store, nil
	}
	if f := c.String("artifact-credentials"); f != "" {
		b, err := readSecretFile(f, maxCredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("--artifact-credentials: %w", err)
		}
		if err := parseCredentials(b, store); err != nil {
			return nil, fmt.Errorf("--artifact-credentials %s: %w", f, err)
		}
	} else {
		store.AccessKeyId = firstEnv(envArtifactAccessKey, "AWS_ACCESS_KEY_ID")
		store.SecretAccessKey = firstEnv(envArtifactSecretKey, "AWS_SECRET_ACCESS_KEY")
		store.SessionToken = firstEnv(envArtifactSessionToken, "AWS_SESSION_TOKEN")
	}
	if store.AccessKeyId == "" || store.SecretAccessKey == "" {
		return nil, fmt.Errorf("--artifact-store %s: no credentials (give --artifact-credentials FILE or set $%s and $%s)",
			u, envArtifactAccessKey, envArtifactSecretKey)
	}
	if _, err := artifacts.Open(artifacts.Config{URL: u, AccessKeyID: store.AccessKeyId, SecretAccessKey: store.SecretAccessKey,
		SessionToken: store.SessionToken}); err != nil {
		return nil, fmt.Errorf("--artifact-store: %w", err)
	}
	return store, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// readSecretFile reads a file readable by its owner only, bounded.
func readSecretFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v; a credentials file must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// parseCredentials reads key=value lines (# comments, blank lines).
func parseCredentials(b []byte, s *gleanerpb.ArtifactStore) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return fmt.Errorf("line %d: want key=value", line)
		}
		switch k {
		case "access_key_id":
			s.AccessKeyId = v
		case "secret_access_key":
			s.SecretAccessKey = v
		case "session_token":
			s.SessionToken = v
		default:
			return fmt.Errorf("line %d: unknown key %q (access_key_id, secret_access_key, session_token)", line, k)
		}
	}
	return sc.Err()
}

// devArtifactStore is `gleaner dev`'s store: --artifact-store, else a
// directory in the data directory (the executors run on this host); none
// under the command executor, which cannot move artifacts.
func devArtifactStore(c *cli.Context, dataDir, executorPath string) (*gleanerpb.ArtifactStore, error) {
	dflt := ""
	if executorPath != "" {
		abs, err := filepath.Abs(filepath.Join(dataDir, "artifacts"))
		if err != nil {
			return nil, err
		}
		dflt = "dir://" + abs
	}
	return artifactStoreConfig(c, dflt)
}
