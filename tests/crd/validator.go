// Package crd validates the custom resources the platform renders against
// the upstream CustomResourceDefinitions, the way kube-apiserver does on
// create: typed meta, object meta, structural defaulting, pruning (unknown
// fields are errors, as with fieldValidation=Strict), OpenAPI schema
// validation, embedded object meta, list-type invariants, then the CEL
// rules (x-kubernetes-validations), which the API server skips when an
// earlier error is blocking.
//
// The CRDs come from the upstream projects' Go modules, at the versions the
// platform deploys, through the module cache: never copied files. It is a
// module of its own so that the Kubernetes server libraries never touch the
// Pulumi program's dependency graph.
package crd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	sigsyaml "sigs.k8s.io/yaml"
)

// version is one served version of one CRD, ready to validate objects.
type version struct {
	gvk        string // group/version, Kind
	namespaced bool
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// Validator holds every loaded CRD version, keyed by "group/version, Kind".
type Validator struct {
	versions map[string]*version
	// Sources records where each CRD came from (for failure messages).
	Sources map[string]string
	// Modules are the upstream modules the CRDs were loaded from, by path.
	Modules map[string]Module
}

// NewValidator returns an empty validator; add CRDs with Load.
func NewValidator() *Validator {
	return &Validator{versions: map[string]*version{}, Sources: map[string]string{}, Modules: map[string]Module{}}
}

func key(apiVersion, kind string) string { return apiVersion + ", Kind=" + kind }

// Load adds every CustomResourceDefinition in a YAML stream (one or more
// documents; other kinds are ignored). source names where it came from.
func (v *Validator) Load(source string, data []byte) (int, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	n := 0
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, fmt.Errorf("%s: %w", source, err)
		}
		if raw["kind"] != "CustomResourceDefinition" {
			continue
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return n, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(b, &crd); err != nil {
			return n, fmt.Errorf("%s: %w", source, err)
		}
		if err := v.add(source, &crd); err != nil {
			return n, err
		}
		n++
	}
}

func (v *Validator) add(source string, crd *apiextensionsv1.CustomResourceDefinition) error {
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, &internal, nil); err != nil {
		return fmt.Errorf("%s: %s: %w", source, crd.Name, err)
	}
	for _, ver := range internal.Spec.Versions {
		if !ver.Served {
			continue
		}
		// The internal form hoists a schema shared by every version to
		// spec.validation.
		validation := ver.Schema
		if validation == nil {
			validation = internal.Spec.Validation
		}
		if validation == nil || validation.OpenAPIV3Schema == nil {
			return fmt.Errorf("%s: %s/%s has no schema", source, crd.Name, ver.Name)
		}
		props := validation.OpenAPIV3Schema
		ss, err := structuralschema.NewStructural(props)
		if err != nil {
			return fmt.Errorf("%s: %s/%s: %w", source, crd.Name, ver.Name, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			return fmt.Errorf("%s: %s/%s: %w", source, crd.Name, ver.Name, err)
		}
		k := key(internal.Spec.Group+"/"+ver.Name, internal.Spec.Names.Kind)
		v.versions[k] = &version{
			gvk:        k,
			namespaced: internal.Spec.Scope == apiextensions.NamespaceScoped,
			structural: ss,
			schema:     sv,
			cel:        cel.NewValidator(ss, true, celconfig.PerCallLimit),
		}
		v.Sources[k] = source
	}
	return nil
}

// Kinds lists the loaded "group/version, Kind" keys.
func (v *Validator) Kinds() []string {
	var out []string
	for k := range v.versions {
		out = append(out, k)
	}
	return out
}

// Validate checks one object (as decoded from YAML or JSON) and returns
// every error the API server would report on create. An object of a kind
// with no loaded CRD is an error, never a pass.
func (v *Validator) Validate(obj map[string]any) field.ErrorList {
	// Round-trip through the apimachinery JSON decoder: integers must be
	// int64, not float64, or CEL comparisons and integer formats break.
	b, err := json.Marshal(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	var u map[string]any
	if err := json.Unmarshal(b, &u); err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	apiVersion, _ := u["apiVersion"].(string)
	kind, _ := u["kind"].(string)
	ver, ok := v.versions[key(apiVersion, kind)]
	if !ok {
		return field.ErrorList{field.NotFound(field.NewPath("kind"), fmt.Sprintf("%s %s: no CRD loaded for this kind", apiVersion, kind))}
	}
	var errs field.ErrorList

	// Unknown fields, and malformed metadata, as the handler's coercion
	// step reports them under fieldValidation=Strict.
	if _, _, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true}); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("metadata"), nil, err.Error()))
	} else {
		for _, p := range unknown {
			errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
		}
	}
	structuraldefaulting.Default(u, ver.structural)
	for _, p := range pruning.PruneWithOptions(u, ver.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		if strings.HasPrefix(p, "metadata.") {
			continue // reported above
		}
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field (dropped by pruning)"))
	}

	un := &unstructured.Unstructured{Object: u}
	if ver.namespaced && un.GetNamespace() == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "namespace"), "namespaced kind"))
	}
	if !ver.namespaced && un.GetNamespace() != "" {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), un.GetNamespace(), "cluster-scoped kind"))
	}
	errs = append(errs, metavalidation.ValidateObjectMetaAccessor(un, ver.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, u, ver.schema)...)
	errs = append(errs, schemaobjectmeta.Validate(nil, u, ver.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, ver.structural, u)...)
	if blocking(errs) {
		errs = append(errs, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
		return errs
	}
	celErrs, _ := ver.cel.Validate(context.Background(), nil, ver.structural, u, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// blocking mirrors the API server: these error types stop CEL evaluation.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// DecodeYAML parses one YAML document into an object map.
func DecodeYAML(data []byte) (map[string]any, error) {
	var obj map[string]any
	if err := sigsyaml.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}
