package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gleanerpb "github.com/gleaner-project/gleaner/proto"
)

// The store's URL is checked at start; S3 credentials come from a 0600 file
// or the environment, never the command line, and their absence is an error.
func TestArtifactStoreConfig(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	if err := os.WriteFile(creds, []byte("# store\naccess_key_id = AK\nsecret_access_key=SK\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("access_key_id=AK\nsecret_access_key=SK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("password=hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{envArtifactAccessKey, envArtifactSecretKey, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
	}
	s3 := "s3://bucket/p?endpoint=127.0.0.1:9000&insecure=true"
	if st, err := artifactStoreConfig(flagContext(t, artifactStoreFlags()), ""); st != nil || err != nil {
		t.Fatalf("no flag: %+v, %v; want no store", st, err)
	}
	st, err := artifactStoreConfig(flagContext(t, artifactStoreFlags(), "--artifact-store", s3, "--artifact-credentials", creds), "")
	if err != nil || st.AccessKeyId != "AK" || st.SecretAccessKey != "SK" || st.Url != s3 {
		t.Fatalf("from a file: %+v, %v", st, err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--artifact-store", "dir://relative"}, "dir:///absolute"},
		{[]string{"--artifact-store", s3}, "no credentials"},
		{[]string{"--artifact-store", s3, "--artifact-credentials", open}, "readable by its owner only"},
		{[]string{"--artifact-store", s3, "--artifact-credentials", bad}, `unknown key "password"`},
		{[]string{"--artifact-credentials", creds}, "without --artifact-store"},
	} {
		_, err := artifactStoreConfig(flagContext(t, artifactStoreFlags(), c.args...), "")
		if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: %v, want %q", c.args, err, c.msg)
		}
	}
	t.Setenv(envArtifactAccessKey, "ENVAK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ENVSK")
	if st, err := artifactStoreConfig(flagContext(t, artifactStoreFlags(), "--artifact-store", s3), ""); err != nil || st.AccessKeyId != "ENVAK" || st.SecretAccessKey != "ENVSK" {
		t.Fatalf("from the environment: %+v, %v", st, err)
	}
	// gleaner dev: a directory in its data directory by default.
	if st, err := devArtifactStore(flagContext(t, artifactStoreFlags()), dir, "/bin/gleaner"); err != nil || st.Url != "dir://"+filepath.Join(dir, "artifacts") {
		t.Fatalf("dev default: %+v, %v", st, err)
	}
	if st, err := devArtifactStore(flagContext(t, artifactStoreFlags()), dir, ""); err != nil || st != nil {
		t.Fatalf("dev with the command executor: %+v, %v", st, err)
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add([]byte("access_key_id=AK\nsecret_access_key=SK\n"))
	f.Add([]byte("# c\n\nsession_token = t\n"))
	f.Add([]byte("password=hunter2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s gleanerpb.ArtifactStore
		err := parseCredentials(b, &s)
		if err != nil && strings.Contains(err.Error(), "=") && strings.Contains(string(b), err.Error()) {
			t.Fatalf("the error echoes the file: %v", err)
		}
		if err == nil && (strings.ContainsAny(s.AccessKeyId, "\n") || strings.ContainsAny(s.SecretAccessKey, "\n")) {
			t.Fatalf("a value spans lines: %+v", s)
		}
	})
}
