package render

import "strings"

// OfType returns the resources of one type token, in URN order.
func (r *Result) OfType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Named returns the resource of that type and logical name, or nil.
func (r *Result) Named(typ, name string) *Resource {
	for i, res := range r.Resources {
		if res.Type == typ && res.Name == name {
			return &r.Resources[i]
		}
	}
	return nil
}

// ByURN returns the resource with that URN, or nil.
func (r *Result) ByURN(urn string) *Resource {
	for i, res := range r.Resources {
		if res.URN == urn {
			return &r.Resources[i]
		}
	}
	return nil
}

// WithTypePrefix returns the resources whose type starts with prefix.
func (r *Result) WithTypePrefix(prefix string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if strings.HasPrefix(res.Type, prefix) {
			out = append(out, res)
		}
	}
	return out
}

// FakeID is the physical id the mocks give a custom resource.
func FakeID(name string) string { return FakeIDPrefix + name }

// Input walks a dotted path ("tags.Name", "routes.0.gatewayId") through the
// resource's inputs; ok is false when any step is missing.
func (res Resource) Input(path string) (any, bool) {
	var cur any = res.Inputs
	for _, step := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[step]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := 0
			for _, ch := range step {
				if ch < '0' || ch > '9' {
					return nil, false
				}
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// String returns the string input at path, or "".
func (res Resource) String(path string) string {
	v, _ := res.Input(path)
	s, _ := v.(string)
	return s
}

// Tag returns the value of one tag in the resource's tags input, or "".
// (Tag keys contain dots and slashes, so they cannot go through Input.)
func (res Resource) Tag(key string) string {
	tags, _ := res.Inputs["tags"].(map[string]any)
	s, _ := tags[key].(string)
	return s
}
