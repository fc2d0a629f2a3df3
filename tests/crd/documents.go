package crd

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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
		m, files, err := s.files()
		if err != nil {
			return nil, err
		}
		n := 0
		for _, f := range files {
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(f.data), 4096)
			for {
				var obj map[string]any
				if err := dec.Decode(&obj); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					return nil, fmt.Errorf("%s: %w", f.name, err)
				}
				if obj["kind"] != "CustomResourceDefinition" {
					continue
				}
				out = append(out, Document{Source: f.name, Object: obj})
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no CRDs found in %s@%s %v", m.Path, m.Version, s.Globs)
		}
	}
	return out, nil
}
