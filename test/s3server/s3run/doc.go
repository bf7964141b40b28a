// Package s3run builds and starts test/s3server, a local S3 API server in a
// process of its own, for tests of the S3 artifact store.
package s3run
