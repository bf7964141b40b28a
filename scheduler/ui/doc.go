// Package ui is the operator's web UI, served by the scheduler at /ui/:
// plain HTML, CSS and JavaScript modules embedded in the binary (no build
// step, no CDN, nothing fetched at run time but the scheduler's own API).
//
// The static files hold no data and are served without a token; the page
// asks for an API token, keeps it in sessionStorage and sends it as
// "Authorization: Bearer" to the same API the CLI uses. GET /v1/whoami
// tells it the token's role: a read-only token shows no action buttons.
//
// Pages (hash routes): #/jobs (list, filters, submit YAML with the API's
// field errors highlighted, kill/suspend/resume/retry), #/jobs/{id} (the
// task DAG drawn as SVG by js/dag.js, per task the instances paged failed
// first from GET /v1/jobs/{id}/instances, why pending, an attempt's log
// followed while it runs), #/agents (resources, reservation, monitor
// heartbeat, attributes with inline edit and history) and #/harvest
// (batch usage against idle capacity over time, throttles and evictions,
// from GET /v1/harvest, see scheduler/harvest). Live by polling.
package ui
