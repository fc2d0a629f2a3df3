package observability

import (
	"path"

	"github.com/llm-platform/llm-platform/sizing"
)

// Alert receivers (observability.alerts.receiver).
const (
	ReceiverNone    = "none"
	ReceiverWebhook = "webhook"
	ReceiverSlack   = "slack"
)

// ReceiverSecretName is the Secret in Namespace that holds the receiver's
// URL (key "url"), mounted into Alertmanager.
const (
	ReceiverSecretName = "alertmanager-receiver"
	receiverSecretKey  = "url"
)

// ReceiverURLFile is where Alertmanager reads the URL: the operator mounts
// each Secret of alertmanagerSpec.secrets at /etc/alertmanager/secrets/
// <name> (prometheus-operator v0.93.1, pkg/alertmanager/statefulset.go,
// secretsDir).
var ReceiverURLFile = path.Join("/etc/alertmanager/secrets", ReceiverSecretName, receiverSecretKey)

// platformReceiver gets the critical and warning alerts; "null" (the
// chart's receiver with no integration) gets the rest.
const platformReceiver = "platform"

// Repeat intervals: a firing critical alert is sent again every hour, a
// warning twice a day (the chart's default repeat_interval).
const (
	criticalRepeat = "1h"
	warningRepeat  = "12h"
)

// alertmanagerValues are the release's alertmanager values: placement and
// size, and with a receiver its Secret and the routing config.
func alertmanagerValues(a *Args, nodeSelector map[string]any) map[string]any {
	spec := map[string]any{
		"nodeSelector": nodeSelector,
		"resources":    sizing.Alertmanager.Values(),
	}
	out := map[string]any{"alertmanagerSpec": spec}
	if !a.sendsAlerts() {
		// The chart's own config: every alert goes to "null". Alerts are
		// seen in Alertmanager's and Prometheus' UIs only.
		return out
	}
	spec["secrets"] = []any{ReceiverSecretName}
	out["config"] = AlertmanagerConfig(a.AlertReceiver)
	return out
}

// AlertmanagerConfig is the release's alertmanager.config for a receiver
// (webhook or slack). Helm merges it into the chart's default config
// (kube-prometheus-stack 88.x values.yaml, alertmanager.config: global,
// inhibit_rules, route with group_by [namespace], group_wait 30s,
// group_interval 5m, repeat_interval 12h and receiver "null", a route
// sending Watchdog to "null", receivers [null], templates) key by key, and
// replaces its lists: route.routes and receivers below replace the chart's,
// so "null" is declared again.
//
// Routing is by the severity label every alert carries: critical and
// warning go to the receiver, grouped per alert name and namespace;
// anything else (the chart's Watchdog and InfoInhibitor, whose severity is
// "none", and info alerts) stays in "null". The chart's inhibit rules
// still mute a warning while a critical alert of the same name and
// namespace fires.
func AlertmanagerConfig(receiver string) map[string]any {
	var integration map[string]any
	switch receiver {
	case ReceiverWebhook:
		// Alertmanager's webhook JSON, resolved notifications included.
		integration = map[string]any{"webhook_configs": []any{map[string]any{
			"url_file": ReceiverURLFile, "send_resolved": true,
		}}}
	case ReceiverSlack:
		// A Slack incoming webhook posts to the channel it was made for;
		// the default title and text templates list the alerts.
		integration = map[string]any{"slack_configs": []any{map[string]any{
			"api_url_file": ReceiverURLFile, "send_resolved": true,
		}}}
	default:
		return nil
	}
	integration["name"] = platformReceiver
	route := func(severity, repeat string) map[string]any {
		return map[string]any{
			"receiver":        platformReceiver,
			"matchers":        []any{`severity = "` + severity + `"`},
			"group_by":        []any{"alertname", "namespace"},
			"repeat_interval": repeat,
		}
	}
	return map[string]any{
		"route": map[string]any{
			"receiver": "null",
			"routes":   []any{route("critical", criticalRepeat), route("warning", warningRepeat)},
		},
		"receivers": []any{map[string]any{"name": "null"}, integration},
	}
}
