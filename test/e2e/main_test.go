package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the directory the executor tests built their binaries
// into (execGleanerBinary), once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if gleanerBin != "" {
		_ = os.RemoveAll(filepath.Dir(gleanerBin))
	}
	os.Exit(code)
}
