package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// fieldPaths lists every config field path ("network.cidr",
// "models[].loraAdapters") below a type, as the README names them.
func fieldPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		ft := f.Type
		if ft.Kind() != reflect.Struct {
			// Objects have no row of their own, only their fields.
			out = append(out, path)
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, fieldPaths(ft, path+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem().Name() != "LoRAAdapter":
			out = append(out, fieldPaths(ft.Elem(), path+"[].")...)
		}
	}
	return out
}

// Every config field is documented in the README's configuration table.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	paths := fieldPaths(reflect.TypeOf(Config{}), "")
	paths = append(paths, SecretKeys...)
	if len(paths) < 50 {
		t.Fatalf("only %d paths found: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(readme, "| `"+p+"` |") {
			t.Errorf("README configuration table has no row for %s", p)
		}
	}
}
