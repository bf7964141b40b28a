package attrs

import (
	"fmt"
	"regexp"
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/gleaner-project/gleaner/scheduler/fielderr"
)

// Limits on attributes.
const (
	MaxValueLen = 256
	MaxKeys     = 128
)

var (
	keyRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]{0,62}$`)
	hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$`)
)

// ValidateHostname checks an agent hostname as used in keys and URLs.
func ValidateHostname(h string) error {
	if !hostRE.MatchString(h) {
		return &fielderr.FieldError{Field: "hostname", Msg: fmt.Sprintf("%q is not a hostname (letters, digits, '.', '-', '_'; at most 253)", h)}
	}
	return nil
}

// ValidateKey checks an attribute key: [a-z0-9][a-z0-9._/-]{0,62}, and not
// "hostname", which constraints reserve for the agent's hostname.
func ValidateKey(k string) error {
	if !keyRE.MatchString(k) {
		return &fielderr.FieldError{Field: "attributes." + k, Msg: fmt.Sprintf("key %q must match [a-z0-9][a-z0-9._/-]{0,62}", k)}
	}
	if k == "hostname" {
		return &fielderr.FieldError{Field: "attributes.hostname", Msg: `key "hostname" is reserved for the agent's hostname`}
	}
	return nil
}

// ValidateValue checks an attribute value: printable UTF-8, at most 256
// characters.
func ValidateValue(k, v string) error {
	if !utf8.ValidString(v) {
		return &fielderr.FieldError{Field: "attributes." + k, Msg: "value is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(v); n > MaxValueLen {
		return &fielderr.FieldError{Field: "attributes." + k, Msg: fmt.Sprintf("value has %d characters, at most %d allowed", n, MaxValueLen)}
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return &fielderr.FieldError{Field: "attributes." + k, Msg: fmt.Sprintf("value contains the non-printable character %U", r)}
		}
	}
	return nil
}

// Validate checks every key and value (in key order, so the error is
// deterministic) and the number of keys.
func Validate(m map[string]string) error {
	if len(m) > MaxKeys {
		return &fielderr.FieldError{Field: "attributes", Msg: fmt.Sprintf("%d keys, at most %d allowed", len(m), MaxKeys)}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			return err
		}
		if err := ValidateValue(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}
