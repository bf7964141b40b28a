package api

import (
	"net/http"

	"github.com/gleaner-project/gleaner/scheduler/auth"
)

// WhoAmI is the body of GET /v1/whoami: the calling token's name and role
// ("admin" or "read-only"), so a client (the web UI) can hide the actions
// a read-only token would be refused.
type WhoAmI struct {
	Name string    `json:"name"`
	Role auth.Role `json:"role"`
}

func (s *server) whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.FromContext(r.Context())
	if !ok { // auth.Require always sets one; fail closed all the same
		writeErr(w, http.StatusUnauthorized, Error{Error: "no authenticated identity", Field: "Authorization"})
		return
	}
	writeJSON(w, http.StatusOK, WhoAmI{Name: id.Name, Role: id.Role})
}
