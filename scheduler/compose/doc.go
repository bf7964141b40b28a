// Package compose converts a Docker Compose v2 file in the compose-based
// batch format (top-level label project_type: batch; per-service labels
// scale, retry_count, depends, remove_containers, under the gleaner. or
// aliyun. prefix) into a Gleaner job.Spec (cleanup policy, rootfs bundle and
// volumes included) plus per-task notes. Images map to rootfs bundles
// through an Images table given by configuration; see README.md.
package compose
