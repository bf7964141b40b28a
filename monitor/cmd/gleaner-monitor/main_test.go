package main

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Setenv("GLEANER_BUNDLE_CACHE", "/env/cache")
	v, err := parse([]string{"--master", "http://m:5050", "--etcd", "http://a:2379", "--etcd", "http://b:2379", "--interval", "2s", "--cpu-min", "1.5", "--executors-idle=false"})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.StringSlice("etcd"); strings.Join(got, " ") != "http://a:2379 http://b:2379" {
		t.Errorf("etcd %q", got)
	}
	if got := v.StringSlice("bundle-cache"); len(got) != 1 || got[0] != "/env/cache" {
		t.Errorf("bundle-cache %q, want the environment's", got)
	}
	if v.Duration("interval") != 2*time.Second || v.Float64("cpu-min") != 1.5 || v.Bool("executors-idle") || v.String("role") != "batch" || v.Int("persist") != 5 {
		t.Errorf("parsed: interval %v cpu-min %v executors-idle %v role %q persist %d", v.Duration("interval"), v.Float64("cpu-min"), v.Bool("executors-idle"), v.String("role"), v.Int("persist"))
	}
	v, err = parse([]string{"--master", "m", "--etcd", "e", "--bundle-cache", "/flag/cache"})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.StringSlice("bundle-cache"); len(got) != 1 || got[0] != "/flag/cache" {
		t.Errorf("bundle-cache %q: the flag wins over the environment", got)
	}
	for _, args := range [][]string{{"--etcd", "e"}, {"--master", "m"}, {"--master", "m", "--etcd", "e", "extra"}, {"--master", "m", "--etcd", "e", "--interval", "soon"}} {
		if _, err := parse(args); err == nil {
			t.Errorf("%q: want an error", args)
		}
	}
}
