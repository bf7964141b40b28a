package node

import "testing"

func TestOtherLeader(t *testing.T) {
	cases := []struct{ advertised, self, want string }{
		{"http://a:8080", "http://b:8080", "http://a:8080"},
		{"http://a:8080", "http://a:8080", ""},
		{"http://a:8080/", "http://a:8080", ""},
		{"", "http://a:8080", ""},
		{"http://a:8080", "", "http://a:8080"},
	}
	for _, c := range cases {
		if got := otherLeader(c.advertised, c.self); got != c.want {
			t.Errorf("otherLeader(%q, %q) = %q, want %q", c.advertised, c.self, got, c.want)
		}
	}
}
