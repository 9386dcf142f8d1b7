package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *datasource `json:"datasource"`
	GridPos     *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

func (d *dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "dashboards", "spraywatch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return &d
}

// DashboardUID is referenced by links and provisioning: it must not change.
const DashboardUID = "spraywatch-overview"

func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID != DashboardUID {
		t.Errorf("uid %q, want the stable %q", d.UID, DashboardUID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: Grafana 10 dashboards are 36 or later", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		switch v.Name {
		case "datasource":
			if v.Type != "datasource" || string(v.Query) != `"prometheus"` {
				t.Errorf("datasource variable: type %q query %s", v.Type, v.Query)
			}
		case "job":
			if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" || !strings.Contains(string(v.Query), "label_values(spraywatch_build_info, job)") {
				t.Errorf("job variable: %+v", v)
			}
		case "instance":
			if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" || !strings.Contains(string(v.Query), `label_values(spraywatch_build_info{job=~\"$job\"}, instance)`) {
				t.Errorf("instance variable: %+v", v)
			}
		}
	}
	if vars["datasource"] == "" || vars["job"] == "" || vars["instance"] == "" {
		t.Fatalf("variables %v: want datasource, job and instance", vars)
	}

	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	panels := 0
	for _, p := range d.allPanels() {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, g)
			continue
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				used[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		panels++
		if p.Title == "" || p.Description == "" {
			t.Errorf("panel %d: title %q, description %q", p.ID, p.Title, p.Description)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q target %s: datasource %+v", p.Title, tg.RefID, tg.Datasource)
			}
			// Every selector follows both variables: no job name is
			// hard-coded, and no panel shows other jobs' targets.
			for _, sel := range selector.FindAllString(tg.Expr, -1) {
				if !strings.Contains(sel, `{job=~"$job", instance=~"$instance"`) {
					t.Errorf("panel %q target %s: selector %s does not follow the job and instance variables", p.Title, tg.RefID, sel)
				}
			}
			if !selector.MatchString(tg.Expr) {
				t.Errorf("panel %q target %s selects no metric: %s", p.Title, tg.RefID, tg.Expr)
			}
		}
	}
	if panels < 15 {
		t.Errorf("%d panels", panels)
	}
}

var metricName = regexp.MustCompile(`\bspraywatch_[a-z_]+`)

// selector matches a metric and its label matchers in a PromQL expression.
var selector = regexp.MustCompile(`\b[a-z_]+\{[^}]*\}`)

// exported lists the spraywatch metric names the package exposes.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"spraywatch_build_info": true, "spraywatch_processing_latency_seconds": true}
	for _, d := range allDescs {
		names[metricName.FindString(d.String())] = true
	}
	return names
}

// TestDashboardAndRulesUseExposedMetrics catches a renamed metric that a
// panel or rule still queries.
func TestDashboardAndRulesUseExposedMetrics(t *testing.T) {
	names := exported(t)
	known := func(n string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && names[base] {
				return true
			}
		}
		return false
	}
	root := repoRoot(t)
	for _, f := range []string{"deploy/grafana/dashboards/spraywatch.json", "deploy/prometheus/rules.yml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range metricName.FindAllString(string(b), -1) {
			if !known(n) && n != "spraywatch_" {
				t.Errorf("%s uses %s, which the metrics package does not expose", f, n)
			}
		}
	}
}
