// Package kubeapi is the real API server check: it starts kube-apiserver
// and etcd (built from their Go modules by `make kube-apiserver`, see
// tests/kubeapi) on loopback, installs the upstream CRDs the CRD harness
// validates against, and server-side applies with dryRun=All, force and
// fieldValidation=Strict every Kubernetes object of every golden render,
// every Helm chart that ships in a Go module rendered with the release's
// values, and a bare Pod from every pod template (Pod Security admission
// enforces on Pods only). Defaulting, built-in validation, CRD schemas, CEL
// rules and admission (Pod Security, ServiceAccount, ...) all run the way
// they do on a cluster; nothing is stored except the Namespaces and
// ServiceAccounts the dry runs need. The endpoint picker objects of
// package inference are compared with the upstream inferencepool chart
// they reproduce (inferencepool_test.go).
//
// The package has only tests; it lives in the tests/crd module, which
// already resolves the upstream CRD modules.
package kubeapi
