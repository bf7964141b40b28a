// Package artifacts keeps the files tasks pass to each other (issue 14): a
// Store interface with a shared-directory and an S3-compatible
// implementation, and the transfers around it — packing a sandbox path
// (a file, or a directory as a gzipped tar) under its sha256 digest,
// fetching it back verified and size-bounded, and unpacking it into another
// sandbox without following links.
package artifacts
