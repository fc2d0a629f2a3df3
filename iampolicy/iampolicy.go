// Package iampolicy models IAM policy documents as Go values, so policies are
// built by pure functions, compared in tests field by field, and marshalled
// to JSON in one place (never hand-written JSON strings).
package iampolicy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the current IAM policy language version.
const Version = "2012-10-17"

// Document is an IAM policy (identity, trust or resource policy).
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document. Condition maps an operator
// (StringEquals, ArnLike, Bool, ...) to context keys and their values.
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal *Principal                `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Principal names who a trust or resource policy applies to. Everyone
// ("Principal": "*") is spelled AnyPrincipal.
type Principal struct {
	Service []string `json:"Service,omitempty"`
	AWS     []string `json:"AWS,omitempty"`

	any bool
}

// AnyPrincipal is the "*" principal (used in Deny statements).
var AnyPrincipal = &Principal{any: true}

// MarshalJSON writes "*" for AnyPrincipal.
func (p *Principal) MarshalJSON() ([]byte, error) {
	if p.any {
		return []byte(`"*"`), nil
	}
	type plain Principal
	return json.Marshal((*plain)(p))
}

// Effects.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// New returns a document with the current version.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// JSON renders the document. encoding/json sorts map keys, so the output is
// stable and a re-render never shows a spurious diff.
func (d Document) JSON() string {
	b, err := json.Marshal(d)
	if err != nil {
		// Only maps of plain values are marshalled; this cannot fail.
		panic(fmt.Sprintf("iampolicy: %v", err))
	}
	return string(b)
}

// Trust returns a role trust policy for AWS services, with optional
// conditions, allowing the given actions (sts:AssumeRole, sts:TagSession).
func Trust(services []string, actions []string, condition map[string]map[string]any) Document {
	return New(Statement{
		Effect:    Allow,
		Principal: &Principal{Service: services},
		Action:    actions,
		Condition: condition,
	})
}

// ARN builds an ARN from its parts.
func ARN(partition, service, region, account, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partition, service, region, account, resource)
}

// ManagedPolicy is the ARN of an AWS managed policy.
func ManagedPolicy(partition, name string) string {
	return ARN(partition, "iam", "", "aws", "policy/"+name)
}

// PodIdentityTrust lets EKS Pod Identity assume a role on behalf of a
// service account; sts:TagSession is required because Pod Identity tags
// the session with the cluster, namespace and service account.
func PodIdentityTrust() Document {
	return Trust([]string{"pods.eks.amazonaws.com"}, []string{"sts:AssumeRole", "sts:TagSession"}, nil)
}

// Name is the last path segment of an ARN (a managed policy's name), for
// naming the resources that attach it.
func Name(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}
