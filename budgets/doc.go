// Package budgets is who may call the gateway and how much: OIDC clients
// beside the API-key clients, and token budgets per hour, day and month,
// per client and per member of a JWT group, enforced or only observed.
//
// Both kinds of client end up with the same identity, the header
// gateway.ClientIDHeader, so budgets, metrics and the pickers' fairness
// treat them alike: an API key's name (the api_key_auth filter forwards
// it) or a JWT's client claim (the jwt_authn filter copies it, replacing
// any header the client sent). Envoy Gateway v1.8.3 cannot accept "an API
// key or a JWT" on one listener: its api_key_auth and jwt_authn filters
// both read Authorization, run one after the other (internal/xds/
// translator/httpfilters.go) and must both pass, and a JWT's optional flag
// only admits a request with no token at all, not one with an API key in
// its place (api/v1alpha1/jwt_types.go). So OIDC clients get a listener
// of their own, with a SecurityPolicy of their own (policies target a
// listener by sectionName); every route attaches to both listeners.
//
// Budgets are one BackendTrafficPolicy on the Gateway (Envoy Gateway
// takes one per target): a shared global rule per client or group and
// window, charged the response's total tokens. Every matching rule is
// checked and charged, and any exhausted one refuses the request
// (envoyproxy/ratelimit src/service/ratelimit.go).
package budgets
