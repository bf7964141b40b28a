package node

import "testing"

func TestLeaderURLFor(t *testing.T) {
	cases := []struct {
		advertised, self string
		leading          bool
		want             string
	}{
		{"http://a:8080", "http://b:8080", false, "http://a:8080"},
		{"http://a:8080", "http://a:8080", true, "http://a:8080"},
		{"http://a:8080", "http://a:8080", false, ""},
		{"http://a:8080/", "http://a:8080", false, ""},
		{"", "http://a:8080", false, ""},
		{"http://a:8080", "", false, "http://a:8080"},
	}
	for _, c := range cases {
		if got := leaderURLFor(c.advertised, c.self, c.leading); got != c.want {
			t.Errorf("leaderURLFor(%q, %q, %v) = %q, want %q", c.advertised, c.self, c.leading, got, c.want)
		}
	}
}
