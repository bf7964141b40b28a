// Package rootfs builds, verifies, publishes, caches and safely extracts the
// root filesystem bundles (deterministic .tar.gz files) that Gleaner tasks run in.
package rootfs
