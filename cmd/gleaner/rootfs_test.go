package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runGleaner(t *testing.T, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(append([]string{"gleaner"}, args...))
	return out.String(), err
}

func TestRootfsBuildInspectPublish(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	if err := os.MkdirAll(filepath.Join(base, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(base, "bin", "tool"), []byte("#!/bin/sh\n"), 0o755)
	extra := filepath.Join(dir, "motd")
	_ = os.WriteFile(extra, []byte("hi\n"), 0o600)
	out1 := filepath.Join(dir, "a.tar.gz")
	out2 := filepath.Join(dir, "b.tar.gz")
	o1, err := runGleaner(t, "rootfs", "build", "--base", base, "--add", extra+":/etc/", "--out", out1)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := runGleaner(t, "rootfs", "build", "--base", base, "--add", extra+":/etc/", "--out", out2)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := strings.Fields(o1)[0], strings.Fields(o2)[0]
	if !strings.HasPrefix(d1, "sha256:") || d1 != d2 {
		t.Fatalf("digests %q %q", o1, o2)
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Fatal("same inputs, different bundle bytes")
	}
	js, err := runGleaner(t, "rootfs", "inspect", out1, "--tree")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Digest   string
		Manifest struct {
			Files int
			Tree  []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(js), &info); err != nil {
		t.Fatalf("inspect output %q: %v", js, err)
	}
	if info.Digest != d1 || info.Manifest.Files != 2 || len(info.Manifest.Tree) == 0 {
		t.Fatalf("inspect: %+v", info)
	}
	store := filepath.Join(dir, "store")
	po, err := runGleaner(t, "rootfs", "publish", out1, "--to", "file://"+store+"/")
	if err != nil {
		t.Fatal(err)
	}
	name := "sha256-" + strings.TrimPrefix(d1, "sha256:") + ".tar.gz"
	if !strings.Contains(po, name) {
		t.Fatalf("publish output %q", po)
	}
	if _, err := os.Stat(filepath.Join(store, name)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"rootfs", "build", "--add", "nocolon", "--out", out1},
		{"rootfs", "build", "--add", extra + ":relative", "--out", out1},
		{"rootfs", "build", "--base", filepath.Join(dir, "missing"), "--out", out1},
		{"rootfs", "inspect"},
		{"rootfs", "inspect", extra},
		{"rootfs", "publish", out1},
		{"rootfs", "publish", out1, "--to", "ftp://x/"},
	} {
		if _, err := runGleaner(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
