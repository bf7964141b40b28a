// Package fetcher brings CommandInfo.URIs into an executor sandbox the way the
// Mesos fetcher does: local paths, file:// and http(s):// URLs, the executable
// bit, archive extraction and a download cache.
package fetcher
