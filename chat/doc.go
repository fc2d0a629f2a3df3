// Package chat provisions the chat front end: Open WebUI from its official
// Helm chart (versions.OpenWebUIVersion) in the namespace chat, one replica
// on the platform pool with its state on an encrypted gp3 volume (or in an
// external PostgreSQL), signed in with OIDC or one generated admin, and
// reaching models only through the gateway, as the gateway client "chat"
// with its own API key and budgets. It forwards the signed-in user to the
// gateway, which records it as a metrics label (package gateway). Users
// reach it on the Gateway's chat listener (an HTTPRoute for chat.hostname);
// NetworkPolicies let it talk only to the Envoy pods, DNS and, with OIDC,
// HTTPS outside the VPC (and PostgreSQL with an external database).
package chat
