package grafana

import (
	"encoding/json"
	"testing"
)

// Two panels per row, ids from 1; a bar gauge's queries are instant, a
// time series' ranged; variables only when given.
func TestDashboardJSON(t *testing.T) {
	t.Parallel()
	var d struct {
		Templating *struct {
			List []struct{ Name, Query string }
		} `json:"templating"`
		Timezone string `json:"timezone"`
		Panels   []struct {
			ID      int
			Type    string
			GridPos struct{ X, Y int } `json:"gridPos"`
			Targets []struct {
				RefID   string `json:"refId"`
				Instant bool
				Range   bool
			}
		}
	}
	js := Dashboard{UID: "u", Title: "t", Timezone: "utc", From: "now-1h", Panels: []Panel{
		{Title: "a", Queries: []Query{{Expr: "up"}, {Expr: "up"}}},
		{Title: "b", Type: BarGauge, Queries: []Query{{Expr: "up"}}},
		{Title: "c", Queries: []Query{{Expr: "up"}}},
	}}.JSON()
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	if d.Templating != nil || d.Timezone != "utc" || len(d.Panels) != 3 {
		t.Fatalf("dashboard %s", js)
	}
	want := []struct{ id, x, y int }{{1, 0, 0}, {2, 12, 0}, {3, 0, 8}}
	for i, p := range d.Panels {
		if p.ID != want[i].id || p.GridPos.X != want[i].x || p.GridPos.Y != want[i].y {
			t.Errorf("panel %d at %+v", i, p)
		}
	}
	if d.Panels[0].Type != TimeSeries || d.Panels[0].Targets[1].RefID != "B" || !d.Panels[0].Targets[0].Range || d.Panels[0].Targets[0].Instant {
		t.Errorf("time series panel %+v", d.Panels[0])
	}
	if b := d.Panels[1]; b.Type != BarGauge || !b.Targets[0].Instant || b.Targets[0].Range {
		t.Errorf("bar gauge panel %+v", b)
	}
	withVar := Dashboard{Variables: []Variable{{Name: "model", Query: "label_values(up, job)"}}}.JSON()
	if err := json.Unmarshal([]byte(withVar), &d); err != nil || d.Templating == nil || d.Templating.List[0].Name != "model" {
		t.Errorf("variables: %s", withVar)
	}
}
