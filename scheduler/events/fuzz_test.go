package events

import "testing"

func FuzzParseWebhooks(f *testing.F) {
	f.Add([]byte("webhooks:\n- {name: ci, url: 'https://ci.example/h', secretFile: s, events: ['job.*']}"))
	f.Add([]byte("webhooks: [{name: a, url: 'http://x', secretFile: s}]"))
	f.Add([]byte("a: &x [*x, *x]"))
	read := func(string) ([]byte, error) { return []byte("0123456789abcdef0123"), nil }
	f.Fuzz(func(t *testing.T, doc []byte) {
		hooks, err := ParseWebhooks("/w.yaml", doc, read)
		if err != nil {
			return
		}
		if len(hooks) > MaxWebhooks {
			t.Fatalf("%d webhooks accepted", len(hooks))
		}
		for _, h := range hooks {
			if len(h.Secret) < MinSecretBytes || h.URL == "" {
				t.Fatalf("accepted %+v", h)
			}
		}
	})
}
