// The example Prometheus files, checked with promtool
// (Debian's prometheus package; deploy/install-deps.sh installs it).
package prometheus_test

import (
	"os/exec"
	"strings"
	"testing"
)

func promtool(t *testing.T, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus; deploy/install-deps.sh installs it)")
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestAlertRulesCheck(t *testing.T) { promtool(t, "check", "rules", "alerts.yml") }

// The unit tests in alerts_test.yml: each alert tested there fires on the
// series that should fire it, at the time it should, and not before.
func TestAlertRulesFire(t *testing.T) { promtool(t, "test", "rules", "alerts_test.yml") }

// The scrape configuration is valid (syntax only: its token file exists on
// a Prometheus host, not here).
func TestScrapeConfigCheck(t *testing.T) {
	promtool(t, "check", "config", "--syntax-only", "prometheus.yml")
}
