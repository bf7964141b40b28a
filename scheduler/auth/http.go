package auth

import (
	"encoding/json"
	"net/http"
)

// Require wraps h so that every request passes g.Check for the role
// need(r) gives (NeedFor(r.Method) when need is nil); h finds the
// identity with FromContext. A refusal is answered 401 (with
// WWW-Authenticate) or 403, as JSON {error, field: "Authorization"}.
func Require(g Guard, need func(*http.Request) Role, h http.Handler) http.Handler {
	if need == nil {
		need = func(r *http.Request) Role { return NeedFor(r.Method) }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := g.Check(r.Header.Get("Authorization"), need(r))
		if err != nil {
			code := StatusFor(err)
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gleaner"`)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}{err.Error(), "Authorization"})
			return
		}
		h.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}
