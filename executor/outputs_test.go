package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadOutputs(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", MaxOutputValueBytes+1)
	tests := []struct {
		name    string
		setup   func(dir string) error
		want    map[string]string
		wantErr string
	}{
		{"missing directory means none", nil, nil, ""},
		{"values with one trailing newline dropped", func(d string) error {
			return writeAll(d, map[string]string{"count": "3\n", "items": `["a","b"]`, "two": "x\n\n"})
		}, map[string]string{"count": "3", "items": `["a","b"]`, "two": "x\n"}, ""},
		{"a value past the bound names the output and the bound", func(d string) error {
			return writeAll(d, map[string]string{"huge": big})
		}, nil, fmt.Sprintf(`output "huge": larger than %d bytes`, MaxOutputValueBytes)},
		{"too many files", func(d string) error {
			m := map[string]string{}
			for i := 0; i <= MaxOutputs; i++ {
				m[fmt.Sprintf("o%d", i)] = "1"
			}
			return writeAll(d, m)
		}, nil, fmt.Sprintf("more than %d files", MaxOutputs)},
		{"the total is bounded", func(d string) error {
			m := map[string]string{}
			for i := 0; i*MaxOutputValueBytes <= MaxOutputsBytes; i++ {
				m[fmt.Sprintf("o%d", i)] = strings.Repeat("y", MaxOutputValueBytes)
			}
			return writeAll(d, m)
		}, nil, fmt.Sprintf("as JSON, more than %d", MaxOutputsBytes)},
		{"the total counts the JSON escapes", func(d string) error {
			// 1,400 bytes of '<' each escape to 6 bytes (\u003c).
			return writeAll(d, map[string]string{"a": strings.Repeat("<", 1400)})
		}, nil, fmt.Sprintf("as JSON, more than %d", MaxOutputsBytes)},
		{"not UTF-8", func(d string) error {
			return writeAll(d, map[string]string{"bin": "\xff\xfe"})
		}, nil, `output "bin": not UTF-8 text`},
		{"a bad name", func(d string) error {
			return writeAll(d, map[string]string{"has space": "1"})
		}, nil, `output "has space": the name must match`},
		{"a symbolic link is not followed", func(d string) error {
			return os.Symlink(secret, filepath.Join(d, "leak"))
		}, nil, `output "leak": not a regular file`},
		{"a directory is refused", func(d string) error {
			return os.Mkdir(filepath.Join(d, "sub"), 0o755)
		}, nil, `output "sub": not a regular file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), OutputsDir)
			if tc.setup != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := tc.setup(dir); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadOutputs(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The outputs directory itself replaced by a link (the task owns the
// sandbox) is refused.
func TestReadOutputsRefusesALinkedDirectory(t *testing.T) {
	elsewhere := t.TempDir()
	if err := writeAll(elsewhere, map[string]string{"shadow": "x"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), OutputsDir)
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadOutputs(dir); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v", err)
	}
}

func writeAll(dir string, m map[string]string) error {
	for k, v := range m {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}
