// Package attrs keeps live agent attributes in etcd (<prefix>agents/<host>/attributes),
// records every change, watches them into an in-memory snapshot for placement,
// serves /v1/agents over HTTP (camelCase keys; ?keys=snake for the release
// before's keys, deprecated), and finds running instances an edit has made
// violate their constraints.
package attrs
