package render

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Secret and Unknown stand in for values the render must not or cannot show.
const (
	Secret  = "[secret]"
	Unknown = "[unknown]"
)

// Plain converts resource inputs to plain JSON-ready values. Secrets become
// the string "[secret]" (whatever they wrap), unknowns "[unknown]", resource
// references their URN, assets and archives a short description.
func Plain(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return Unknown
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Secret
		}
		if !o.Known {
			return Unknown
		}
		return plainValue(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = plainValue(e)
		}
		return out
	case v.IsObject():
		return Plain(v.ObjectValue())
	case v.IsAsset():
		a := v.AssetValue()
		return map[string]any{"asset": map[string]any{"path": a.Path, "uri": a.URI, "text": a.Text}}
	case v.IsArchive():
		a := v.ArchiveValue()
		return map[string]any{"archive": map[string]any{"path": a.Path, "uri": a.URI}}
	}
	return v.String()
}
