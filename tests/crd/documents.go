package crd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Document is one CustomResourceDefinition as its upstream file declares
// it, for installing into a real API server (tests/crd/kubeapi).
type Document struct {
	// Source names the module, version and file it came from.
	Source string
	// Object is the decoded CRD (apiextensions.k8s.io/v1).
	Object map[string]any
}

// Documents reads every CustomResourceDefinition of the sources, from the
// same modules, versions and files LoadSources validates against.
func Documents(sources []Source) ([]Document, error) {
	var out []Document
	for _, s := range sources {
		m, err := s.resolve()
		if err != nil {
			return nil, err
		}
		n := 0
		for _, g := range s.Globs {
			files, err := filepath.Glob(filepath.Join(m.Dir, g))
			if err != nil {
				return nil, err
			}
			sort.Strings(files)
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				rel, _ := filepath.Rel(m.Dir, f)
				source := fmt.Sprintf("%s@%s/%s", m.Path, m.Version, rel)
				dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
				for {
					var obj map[string]any
					if err := dec.Decode(&obj); err != nil {
						if errors.Is(err, io.EOF) {
							break
						}
						return nil, fmt.Errorf("%s: %w", source, err)
					}
					if obj["kind"] != "CustomResourceDefinition" {
						continue
					}
					out = append(out, Document{Source: source, Object: obj})
					n++
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no CRDs found in %s@%s %v", m.Path, m.Version, s.Globs)
		}
	}
	return out, nil
}
