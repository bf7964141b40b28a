package executor

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	"github.com/gleaner-project/gleaner/rootfs"
)

// acquireBundle makes sure the task's bundle is in the host cache, within
// the configured limits, and holds it there (t.bundle) until the task ends.
// A copy the agent's fetcher left in the sandbox is used before the uri.
func (e *Executor) acquireBundle(t *task) (string, error) {
	b := t.payload.Bundle
	var cands []string
	if base := path.Base(b.Uri); base != "" && base != "." && base != "/" {
		cands = append(cands, filepath.Join(e.cfg.Mesos.Directory, base))
	}
	l, err := e.cache.Acquire(context.Background(), b.Digest, b.Uri, cands...)
	if err != nil {
		return "", fmt.Errorf("bundle: %w", withLimitFlag(err))
	}
	t.bundle = l
	return l.Dir, nil
}

// releaseBundle lets the task's bundle be evicted from the host cache.
func (t *task) releaseBundle() {
	if t.bundle != nil {
		t.bundle.Release()
	}
}

// withLimitFlag adds to a bundle limit or download timeout error the
// executor flag that sets the limit.
func withLimitFlag(err error) error {
	var le *rootfs.LimitError
	if errors.As(err, &le) {
		if flag, ok := BundleLimitFlags[le.Limit]; ok {
			return fmt.Errorf("%w (executor flag --%s)", err, flag)
		}
	}
	var te *rootfs.FetchTimeoutError
	if errors.As(err, &te) {
		if flag, ok := BundleFetchFlags[te.Phase]; ok {
			return fmt.Errorf("%w (executor flag --%s)", err, flag)
		}
	}
	return err
}
