// Package ui tests the scheduler's web UI (scheduler/ui) in a real headless
// Chromium driven with chromedp, against a real stack: `gleaner dev` built
// from this tree (embedded etcd, local Mesos, the scheduler, tasks under
// the Gleaner executor, a monitor beside each agent).
//
// The tests sign in, submit a job and watch it succeed, open a log, see a
// job pending with its reason, edit an agent attribute, read the harvest
// page, see the refusal without a valid token and a read-only token's
// page without actions. They save a screenshot of each page in
// $GLEANER_UI_SCREENSHOTS (default: the test's temporary directory) and
// skip, saying so, when no chromium binary is installed (make test
// installs Debian's chromium through deploy/install-deps.sh).
package ui
