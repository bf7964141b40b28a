package e2e

import (
	"os"
	"path/filepath"
)

// sharedHostBase is where tests make directories that tasks of the Gleaner
// executor and the test itself must both see: not under /tmp or /var/tmp,
// which a task without a bundle has private copies of. Tests that run such
// tasks run as root; otherwise the default temporary directory does.
func sharedHostBase() string {
	if os.Geteuid() != 0 {
		return ""
	}
	base := filepath.Join("/var/lib", "gleaner-e2e")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return ""
	}
	return base
}
