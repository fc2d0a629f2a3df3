package eppconfig

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A small block-style YAML writer for the tree document builds. The
// package keeps to the standard library (the root module's YAML library,
// gopkg.in/yaml.v3, would need a struct per section restating the upstream
// API, or yaml.Node plumbing, to keep the order the upstream docs use), and
// the file is short and reviewed as text.

// field is one key of a mapping.
type field struct {
	key   string
	value any
}

// mapping is a YAML mapping in key order.
type mapping []field

// sequence is a YAML sequence.
type sequence []any

// marshal writes m as block-style YAML.
func marshal(m mapping) string {
	var b strings.Builder
	writeMapping(&b, m, 0, "")
	return b.String()
}

// writeMapping writes m at indent; first, if not empty, replaces the
// indentation of the first line (a sequence item's "- ").
func writeMapping(b *strings.Builder, m mapping, indent int, first string) {
	for i, f := range m {
		if i == 0 && first != "" {
			b.WriteString(first)
		} else {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(scalar(f.key))
		b.WriteString(":")
		switch v := f.value.(type) {
		case mapping:
			if len(v) == 0 {
				b.WriteString(" {}\n")
				continue
			}
			b.WriteString("\n")
			writeMapping(b, v, indent+2, "")
		case sequence:
			if len(v) == 0 {
				b.WriteString(" []\n")
				continue
			}
			b.WriteString("\n")
			writeSequence(b, v, indent)
		default:
			b.WriteString(" " + scalar(v) + "\n")
		}
	}
}

// writeSequence writes s with its dashes at indent (the style of the
// upstream chart).
func writeSequence(b *strings.Builder, s sequence, indent int) {
	dash := strings.Repeat(" ", indent) + "- "
	for _, item := range s {
		switch v := item.(type) {
		case mapping:
			if len(v) == 0 {
				b.WriteString(dash + "{}\n")
				continue
			}
			writeMapping(b, v, indent+2, dash)
		case sequence:
			panic("eppconfig: a sequence directly in a sequence is not supported")
		default:
			b.WriteString(dash + scalar(v) + "\n")
		}
	}
}

// plain matches strings that YAML reads back as the same string when
// written without quotes: starting with a letter or slash, no ": " or " #".
var plain = regexp.MustCompile(`^[A-Za-z/][A-Za-z0-9._/-]*$`)

// reserved are plain words YAML 1.1 or 1.2 reads as something else.
var reserved = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
	"y": true, "n": true, "null": true, "~": true,
}

// scalar writes one scalar: strings plain when that is unambiguous, else
// as a JSON string (a valid YAML double-quoted scalar).
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		if plain.MatchString(v) && !reserved[strings.ToLower(v)] {
			return v
		}
		q, err := json.Marshal(v)
		if err != nil {
			panic(err) // a string always marshals
		}
		return string(q)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		panic(fmt.Sprintf("eppconfig: unsupported YAML value %T", v))
	}
}
