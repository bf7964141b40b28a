package e2e

import (
	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// Tokens of the API the e2e tests serve (authentication is on, as in
// `gleaner scheduler`).
const (
	e2eAdminToken  = "e2e-admin-token"
	e2eReaderToken = "e2e-read-only-token"
)

// e2eGuard knows e2eAdminToken (admin, named "admin") and e2eReaderToken.
func e2eGuard() auth.Guard {
	return auth.Guard{Keyring: auth.NewKeyring(auth.EntryFor("admin", auth.Admin, e2eAdminToken), auth.EntryFor("dashboard", auth.ReadOnly, e2eReaderToken))}
}
