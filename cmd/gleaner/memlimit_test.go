package main

import (
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string // a fragment of the error, "" for none
	}{
		{"", 0, ""},
		{"  ", 0, ""},
		{"1048576", 1 << 20, ""},
		{"512B", 512, ""},
		{"64KiB", 64 << 10, ""},
		{"256MiB", 256 << 20, ""},
		{"256 MiB", 256 << 20, ""},
		{"2GiB", 2 << 30, ""},
		{"1TiB", 1 << 40, ""},
		{"1024TiB", 1 << 50, ""},
		{"1025TiB", 0, "more than 1 PiB"},
		{"0", 0, "positive"},
		{"-5MiB", 0, "positive"},
		{"1.5GiB", 0, "whole number"},
		{"256MB", 0, "unit"},
		{"MiB", 0, "positive"},
		{"9223372036854775807GiB", 0, "more than 1 PiB"},
		{strings.Repeat("9", 40), 0, "too long"},
	} {
		got, err := parseMemoryLimit(c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want an error naming --memory-limit with %q", c.in, got, err, c.err)
		}
	}
}

func FuzzParseMemoryLimit(f *testing.F) {
	for _, s := range []string{"", "256MiB", "1TiB", "0", "12 KiB", "1.5GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMemoryLimit(s)
		if err != nil {
			return
		}
		if n < 0 || n > maxMemoryLimit {
			t.Fatalf("parseMemoryLimit(%q) = %d: out of range", s, n)
		}
	})
}
