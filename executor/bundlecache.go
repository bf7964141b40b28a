package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gleaner-project/gleaner/rootfs"
)

// DefaultBundleCache is the host's bundle cache when neither --bundle-cache
// nor $GLEANER_BUNDLE_CACHE names one: outside every sandbox, so no task's
// disk quota or sandbox cleanup ever touches it, and mode 0700 (root's).
const DefaultBundleCache = "/var/cache/gleaner/bundles"

// bundleCacheDir picks the bundle cache: the flag, else the environment,
// else DefaultBundleCache. A cache inside the executor's sandbox is refused:
// it would escape the cache's sharing and cap, and die with the sandbox.
func bundleCacheDir(flagDir, envDir, sandbox string) (dir string, isDefault bool, err error) {
	dir = flagDir
	if dir == "" {
		dir = envDir
	}
	if dir == "" {
		return DefaultBundleCache, true, nil
	}
	if !filepath.IsAbs(dir) {
		return "", false, fmt.Errorf("--bundle-cache %q: must be an absolute host path", dir)
	}
	if sandbox != "" && within(filepath.Clean(dir), filepath.Clean(sandbox)) {
		return "", false, fmt.Errorf("--bundle-cache %q: inside the executor's sandbox %s; give a host directory outside it (default %s)",
			dir, sandbox, DefaultBundleCache)
	}
	return dir, false, nil
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// openBundleCache opens the cache; the default directory is made 0700 (and
// set so if it exists): only the executor, as root, reads it.
func openBundleCache(dir string, isDefault bool) (*rootfs.Cache, error) {
	if isDefault {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("bundle cache %s: %w (give --bundle-cache or $%s)", dir, err, BundleCacheEnv)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("bundle cache %s: %w", dir, err)
		}
	}
	return rootfs.NewCache(dir)
}
