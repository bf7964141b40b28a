// Package rootfstest builds tiny busybox-static bundles for tests.
package rootfstest
