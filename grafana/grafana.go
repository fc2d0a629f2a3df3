// Package grafana renders the platform's Grafana dashboards (the main one
// in package observability, "Usage by client" in package usage) from
// panels of PromQL queries: one JSON layout, two panels per row, ids in
// order from 1, every query on the Prometheus datasource
// kube-prometheus-stack provisions. Tests parse every query the
// dashboards render, so the queries stay Go strings, never hand-edited
// JSON.
package grafana

import "encoding/json"

// Query is one panel query with its legend.
type Query struct {
	Expr, Legend string
}

// Panel types.
const (
	// TimeSeries draws the queries over the dashboard's time range.
	TimeSeries = "timeseries"
	// BarGauge shows one value per series: the queries' instant value at
	// the end of the panel's time range.
	BarGauge = "bargauge"
)

// Panel is one dashboard panel.
type Panel struct {
	Title string
	// Description is the panel's info tooltip.
	Description string
	Unit        string
	// Type is TimeSeries (the default) or BarGauge (whose queries are
	// instant).
	Type string
	// TimeFrom overrides the dashboard's time range for this panel
	// (now/h: this hour so far).
	TimeFrom string
	// Interval is the panel's minimum query step.
	Interval string
	Queries  []Query
}

// Variable is a dashboard variable filled from a Prometheus query.
type Variable struct {
	Name, Label, Query string
}

// Dashboard is one dashboard.
type Dashboard struct {
	UID, Title string
	Tags       []string
	// Timezone is "" (the viewer's) or "utc".
	Timezone string
	Refresh  string
	// From starts the default time range, up to now.
	From      string
	Variables []Variable
	Panels    []Panel
}

type dashboard struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	Tags          []string    `json:"tags"`
	Timezone      string      `json:"timezone,omitempty"`
	SchemaVersion int         `json:"schemaVersion"`
	Refresh       string      `json:"refresh"`
	Time          timeRange   `json:"time"`
	Templating    *templating `json:"templating,omitempty"`
	Panels        []panel     `json:"panels"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	Name       string     `json:"name"`
	Label      string     `json:"label"`
	Type       string     `json:"type"`
	Datasource datasource `json:"datasource"`
	Query      string     `json:"query"`
	Refresh    int        `json:"refresh"`
	Multi      bool       `json:"multi"`
	IncludeAll bool       `json:"includeAll"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type target struct {
	RefID        string     `json:"refId"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat"`
	Datasource   datasource `json:"datasource"`
	Instant      bool       `json:"instant,omitempty"`
	Range        bool       `json:"range,omitempty"`
}

type fieldConfig struct {
	Defaults struct {
		Unit string `json:"unit"`
	} `json:"defaults"`
}

type panel struct {
	ID          int            `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Type        string         `json:"type"`
	GridPos     gridPos        `json:"gridPos"`
	Datasource  datasource     `json:"datasource"`
	FieldConfig fieldConfig    `json:"fieldConfig"`
	Options     map[string]any `json:"options,omitempty"`
	TimeFrom    string         `json:"timeFrom,omitempty"`
	Interval    string         `json:"interval,omitempty"`
	Targets     []target       `json:"targets"`
}

// prometheusDS is the datasource kube-prometheus-stack provisions.
var prometheusDS = datasource{Type: "prometheus", UID: "prometheus"}

// JSON renders the dashboard: two panels per row, ids in order from 1.
// Variables allow several values and All, and refresh on time range
// change.
func (d Dashboard) JSON() string {
	out := dashboard{
		UID: d.UID, Title: d.Title, Tags: d.Tags, Timezone: d.Timezone,
		SchemaVersion: 39, Refresh: d.Refresh, Time: timeRange{From: d.From, To: "now"},
	}
	if len(d.Variables) > 0 {
		out.Templating = &templating{}
		for _, v := range d.Variables {
			out.Templating.List = append(out.Templating.List, variable{
				Name: v.Name, Label: v.Label, Type: "query", Datasource: prometheusDS,
				Query: v.Query, Refresh: 2, Multi: true, IncludeAll: true,
			})
		}
	}
	for i, p := range d.Panels {
		typ := p.Type
		if typ == "" {
			typ = TimeSeries
		}
		pn := panel{
			ID: i + 1, Title: p.Title, Description: p.Description, Type: typ, Datasource: prometheusDS,
			GridPos: gridPos{H: 8, W: 12, X: (i % 2) * 12, Y: (i / 2) * 8}, TimeFrom: p.TimeFrom, Interval: p.Interval,
		}
		pn.FieldConfig.Defaults.Unit = p.Unit
		instant := typ == BarGauge
		if instant {
			pn.Options = map[string]any{
				"orientation":   "horizontal",
				"displayMode":   "basic",
				"reduceOptions": map[string]any{"calcs": []any{"lastNotNull"}, "values": false},
			}
		}
		for j, q := range p.Queries {
			pn.Targets = append(pn.Targets, target{
				RefID: string(rune('A' + j)), Expr: q.Expr, LegendFormat: q.Legend, Datasource: prometheusDS,
				Instant: instant, Range: !instant,
			})
		}
		out.Panels = append(out.Panels, pn)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return string(b)
}
