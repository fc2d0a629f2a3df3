// Package xlate runs the gateway objects of every golden render through the
// two translators the platform's gateway depends on, at the versions it
// deploys, and checks what Envoy would do with them:
//
//  1. the Envoy AI Gateway's translation (aigw's translate(), v1.0.0), which
//     reconciles AIGatewayRoute, AIServiceBackend and Gateway with the AI
//     Gateway's own controllers into HTTPRoutes, Backends and policies;
//  2. Envoy Gateway's translator (`egctl x translate`, v1.8.3), from those
//     Gateway API and Envoy Gateway objects to resource status and xDS.
//
// The assertions read the translators' own status conditions (every
// listener, route and policy Accepted, references resolved) and the xDS
// (API-key authentication before the rate limiter on every route, one
// token counter per client across model names, timeouts as configured and
// inside the NLB's idle limit, each model name routed to its backend).
// Broken copies of a golden prove that each assertion bites.
//
// Gateway API Inference Extension InferencePools (pool.go): the AI Gateway
// translation passes them through and copies AIGatewayRoute references to
// them into the HTTPRoute; egctl v1.8.3 can load neither a pool nor a
// reference to one (without an extension manager, which it cannot be
// given), nor a Namespace's labels for a listener's namespace selector. So
// egctl sees a stand-in Backend per pool and `from: All` for a selector;
// the harness evaluates the selector itself and checks each pool against
// the rendered workloads and its endpoint picker Service.
//
// Both binaries are built from their Go modules (make gateway-translators);
// without them the tests skip, except in CI (CI set), where they fail. What
// the check cannot see: the AI Gateway's extension-server hooks, which in a
// cluster rewrite Envoy Gateway's xDS (the external processor that reads the
// model from the body and sets the token metadata, upstream filters; for a
// pool, its ORIGINAL_DST cluster, the endpoint picker's cluster and external
// processor) do not run offline; the rate limit service's own configuration
// is not part of egctl's output.
package xlate
