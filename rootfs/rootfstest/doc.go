// Package rootfstest builds tiny busybox-static bundles and gzip-bomb
// bundles (Bomb) for tests.
package rootfstest
