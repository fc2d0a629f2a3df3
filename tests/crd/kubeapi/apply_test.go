package kubeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-platform/llm-platform/tests/crd"
)

// fieldManager owns what the check applies (for real or as a dry run).
const fieldManager = "llm-platform-kubeapi-check"

// builtinNamespaces exist on every cluster.
var builtinNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// installCRDs applies every upstream CRD the CRD harness loads (same
// modules, versions and files) and waits until each is Established and
// served.
func (c *cluster) installCRDs() error {
	docs, err := crd.Documents(crd.Sources)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	// Applied four at a time: each CRD costs the server a schema build.
	names := make([]string, len(docs))
	errs := make([]error, len(docs))
	fourAtATime(len(docs), func(i int) {
		d := docs[i]
		u := &unstructured.Unstructured{Object: d.Object}
		names[i] = u.GetName()
		b, err := json.Marshal(d.Object)
		if err == nil {
			force := true
			_, err = c.dynamic.Resource(gvr).Patch(ctx, u.GetName(), types.ApplyPatchType, b,
				metav1.PatchOptions{FieldManager: fieldManager, Force: &force})
		}
		if err != nil {
			errs[i] = fmt.Errorf("installing CRD %s from %s: %w", u.GetName(), d.Source, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, name := range names {
		for {
			got, err := c.dynamic.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("CRD %s: %w", name, err)
			}
			if established(got) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not Established: %v", name, got.Object["status"])
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// Discovery now lists the custom resources.
	c.mapper.Reset()
	return nil
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, cond := range conds {
		m, _ := cond.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// applyOptions: a dry run that runs defaulting, validation, CEL and
// admission without storing anything; unknown or duplicate fields are
// errors.
func applyOptions(dryRun bool) metav1.PatchOptions {
	force := true
	o := metav1.PatchOptions{FieldManager: fieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

// namespaced reports whether the server serves obj's kind in namespaces.
func (c *cluster) namespaced(obj map[string]any) (bool, error) {
	gvk := (&unstructured.Unstructured{Object: obj}).GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false, fmt.Errorf("the server serves no %s: %w", gvk, err)
	}
	return mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// inNamespace puts a namespaced object that names no namespace into ns,
// as Helm does with a chart's output on install.
func (c *cluster) inNamespace(obj map[string]any, ns string) {
	u := &unstructured.Unstructured{Object: obj}
	if u.GetNamespace() != "" {
		return
	}
	// An unknown kind is left alone: apply reports it.
	if ok, err := c.namespaced(obj); err == nil && ok {
		u.SetNamespace(ns)
	}
}

// apply server-side applies obj (a dry run unless real) and returns the
// server's warnings.
func (c *cluster) apply(obj map[string]any, dryRun bool) ([]string, error) {
	u := &unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("the server serves no %s: %w", gvk, err)
	}
	ns := ""
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns = u.GetNamespace(); ns == "" {
			return nil, fmt.Errorf("%s %s is namespaced but names no namespace", gvk.Kind, u.GetName())
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx, w := withWarnings(ctx)
	_, err = c.dynamic.Resource(mapping.Resource).Namespace(ns).Patch(ctx, u.GetName(), types.ApplyPatchType, b, applyOptions(dryRun))
	return w.list, err
}

// ensureNamespaces creates (for real: a dry run needs them) every
// namespace a set of objects uses, with the labels declared for it, and
// its default ServiceAccount (no controller-manager runs to create it).
// Namespaces created earlier by this test but not declared now lose the
// labels this test gave them, so one golden's Pod Security labels never
// leak into another's check.
func (c *cluster) ensureNamespaces(declared map[string]map[string]string, used []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := map[string]map[string]string{}
	for ns := range c.namespaces {
		want[ns] = nil
	}
	for _, ns := range used {
		if _, ok := want[ns]; !ok {
			want[ns] = nil
		}
	}
	maps.Copy(want, declared)
	for _, ns := range slices.Sorted(maps.Keys(want)) {
		if slices.Contains(builtinNamespaces, ns) {
			continue
		}
		labels := want[ns]
		if prev, ok := c.namespaces[ns]; ok && maps.Equal(prev, labels) {
			continue
		}
		obj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}
		if len(labels) > 0 {
			l := map[string]any{}
			for k, v := range labels {
				l[k] = v
			}
			obj["metadata"].(map[string]any)["labels"] = l
		}
		if _, err := c.apply(obj, false); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
		if _, ok := c.namespaces[ns]; !ok {
			if err := c.ensureServiceAccount(ns, "default"); err != nil {
				return err
			}
		}
		c.namespaces[ns] = labels
	}
	return nil
}

// ensureServiceAccount creates a ServiceAccount for real: the
// ServiceAccount admission plugin rejects a Pod whose account is missing.
func (c *cluster) ensureServiceAccount(ns, name string) error {
	obj := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name, "namespace": ns}}
	if _, err := c.apply(obj, false); err != nil {
		return fmt.Errorf("creating ServiceAccount %s/%s: %w", ns, name, err)
	}
	return nil
}

// podTemplatePath is where each workload kind keeps its pod template.
var podTemplatePath = map[string][]string{
	"apps/v1, Kind=Deployment":        {"spec", "template"},
	"apps/v1, Kind=StatefulSet":       {"spec", "template"},
	"apps/v1, Kind=DaemonSet":         {"spec", "template"},
	"apps/v1, Kind=ReplicaSet":        {"spec", "template"},
	"batch/v1, Kind=Job":              {"spec", "template"},
	"batch/v1, Kind=CronJob":          {"spec", "jobTemplate", "spec", "template"},
	"/v1, Kind=ReplicationController": {"spec", "template"},
}

// podFromTemplate builds the bare Pod a workload's controller would
// create: Pod Security admission enforces on Pods, never on their
// templates. A StatefulSet's controller also gives each Pod a volume per
// claim template, named after it, on the claim <template>-<set>-<ordinal>
// (kubernetes pkg/controller/statefulset/stateful_set_utils.go,
// updateStorage); the Pod gets them here too.
func podFromTemplate(obj map[string]any) (map[string]any, bool) {
	u := &unstructured.Unstructured{Object: obj}
	path, ok := podTemplatePath[u.GroupVersionKind().String()]
	if !ok {
		return nil, false
	}
	tmpl, found, _ := unstructured.NestedMap(obj, path...)
	if !found {
		return nil, false
	}
	md, _, _ := unstructured.NestedMap(tmpl, "metadata")
	spec, _, _ := unstructured.NestedMap(tmpl, "spec")
	claims, _, _ := unstructured.NestedSlice(obj, "spec", "volumeClaimTemplates")
	for _, c := range claims {
		name, _, _ := unstructured.NestedString(c.(map[string]any), "metadata", "name")
		volumes, _, _ := unstructured.NestedSlice(spec, "volumes")
		spec["volumes"] = append(volumes, map[string]any{
			"name":                  name,
			"persistentVolumeClaim": map[string]any{"claimName": name + "-" + u.GetName() + "-0"},
		})
	}
	podMeta := map[string]any{"name": strings.ToLower(u.GetName() + "-" + u.GetKind() + "-pod")}
	if ns := u.GetNamespace(); ns != "" {
		podMeta["namespace"] = ns
	}
	for _, k := range []string{"labels", "annotations"} {
		if v, ok := md[k]; ok {
			podMeta[k] = v
		}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": podMeta, "spec": spec}, true
}

// serviceAccountOf is the account a Pod runs as.
func serviceAccountOf(pod map[string]any) string {
	if sa, _, _ := unstructured.NestedString(pod, "spec", "serviceAccountName"); sa != "" {
		return sa
	}
	if sa, _, _ := unstructured.NestedString(pod, "spec", "serviceAccount"); sa != "" {
		return sa
	}
	return "default"
}
