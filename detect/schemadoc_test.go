package detect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spraywatch/spraywatch/alert"
	"github.com/spraywatch/spraywatch/event"
)

const (
	schemaDoc    = "../docs/alert-schema.md"
	sampleAlerts = "../cmd/spraywatch/testdata/samples.alerts.jsonl"
)

// docField is a row of the Fields table of docs/alert-schema.md for one
// field: its type and what the row says of it.
type docField struct {
	typ, meaning string
	line         int
}

var backticked = regexp.MustCompile("`([^`]+)`")

// schemaFields reads the Fields table of docs/alert-schema.md: each name
// of a row's first column with its type (a row of several names gives a
// type per name, or one for all).
func schemaFields(t *testing.T) map[string]docField {
	t.Helper()
	f, err := os.Open(schemaDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fields := map[string]docField{}
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "## Fields":
			in = true
			continue
		case strings.HasPrefix(line, "## "):
			in = false
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.SplitN(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), " | ", 3)
		if len(cols) != 3 {
			t.Fatalf("%s:%d: a row of the Fields table without three columns", schemaDoc, n)
		}
		var names []string
		for _, m := range backticked.FindAllStringSubmatch(cols[0], -1) {
			names = append(names, m[1])
		}
		types := strings.Split(cols[1], ", ")
		if len(types) != 1 && len(types) != len(names) {
			t.Fatalf("%s:%d: %d names and %d types", schemaDoc, n, len(names), len(types))
		}
		for i, name := range names {
			typ := types[0]
			if len(types) > 1 {
				typ = types[i]
			}
			if _, dup := fields[name]; dup {
				t.Errorf("%s:%d: %s documented twice", schemaDoc, n, name)
			}
			fields[name] = docField{typ: typ, meaning: cols[2], line: n}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(fields) < 40 {
		t.Fatalf("%d fields read from %s: the table was not found", len(fields), schemaDoc)
	}
	return fields
}

// schemaPath is a key path of the alert's JSON, its Go type and whether
// it is left out when empty.
type schemaPath struct {
	path      string
	typ       reflect.Type
	omitEmpty bool
}

// alertPaths returns every key path of an alert's JSON, parents first.
func alertPaths(prefix string, typ reflect.Type) []schemaPath {
	var out []schemaPath
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		p := schemaPath{path: prefix + name, typ: f.Type, omitEmpty: opts == "omitempty"}
		out = append(out, p)
		st := f.Type
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() == reflect.Struct {
			out = append(out, alertPaths(p.path+".", st)...)
		}
	}
	return out
}

// docType is how the Fields table writes a Go type.
func docType(typ reflect.Type) string {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int:
		return "int"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "[" + docType(typ.Elem()) + "]"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return typ.String()
}

// documented reports where path is documented: its own row, or for a
// field of an object documented as a whole (identity), the object's row
// naming it.
func documented(fields map[string]docField, path string) (docField, bool) {
	if f, ok := fields[path]; ok {
		return f, true
	}
	for i := strings.Index(path, "."); i >= 0; i = nextDot(path, i) {
		if f, ok := fields[path[:i]]; ok && strings.Contains(f.meaning, "`"+path[i+1:]+"`") {
			return f, true
		}
	}
	return docField{}, false
}

func nextDot(s string, i int) int {
	j := strings.Index(s[i+1:], ".")
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// TestSchemaDocFields checks the Fields table of docs/alert-schema.md
// against the alert type: every field the type has is documented with its
// type, and a field that can be left out says when it is there; every
// field documented is one of the type.
func TestSchemaDocFields(t *testing.T) {
	fields := schemaFields(t)
	paths := alertPaths("", reflect.TypeOf(alert.Alert{}))
	known := map[string]bool{}
	for _, p := range paths {
		known[p.path] = true
		st := p.typ
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		f, ok := fields[p.path]
		if st.Kind() == reflect.Struct && !ok {
			continue // an object documented field by field (count, sample, ...)
		}
		if !ok {
			if f, ok = documented(fields, p.path); !ok {
				t.Errorf("%s: not in the Fields table of %s", p.path, schemaDoc)
			}
			continue
		}
		if want := docType(p.typ); f.typ != want {
			t.Errorf("%s:%d: %s is documented as %s, the alert has %s", schemaDoc, f.line, p.path, f.typ, want)
		}
		if p.omitEmpty && !regexp.MustCompile(`omit|only|present|when`).MatchString(f.meaning) {
			t.Errorf("%s:%d: %s can be left out, and its row does not say when", schemaDoc, f.line, p.path)
		}
	}
	for name, f := range fields {
		if !known[name] {
			t.Errorf("%s:%d: %s is documented but no alert has it", schemaDoc, f.line, name)
		}
	}
}

// jsonBlocks returns the ```json blocks of the markdown file at path.
func jsonBlocks(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		_, rest, ok := bytes.Cut(b, []byte("\n```json\n"))
		if !ok {
			return out
		}
		block, after, ok := bytes.Cut(rest, []byte("\n```\n"))
		if !ok {
			t.Fatalf("%s: a json block without its end", path)
		}
		out = append(out, block)
		b = after
	}
}

// TestSchemaDocExample checks the example of docs/alert-schema.md: it
// decodes into an alert with no key left over, encodes again to the same
// bytes, and is the record of the sample day it says it is.
func TestSchemaDocExample(t *testing.T) {
	blocks := jsonBlocks(t, schemaDoc)
	if len(blocks) == 0 {
		t.Fatalf("%s: no json block", schemaDoc)
	}
	samples, err := os.ReadFile(sampleAlerts)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		var a alert.Alert
		if err := d.Decode(&a); err != nil {
			t.Errorf("%s: json block %d does not decode into an alert: %v", schemaDoc, i+1, err)
			continue
		}
		line, err := a.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSuffix(line, []byte("\n")), b) {
			t.Errorf("%s: json block %d is not what spraywatch writes for it:\n doc:  %s\n code: %s", schemaDoc, i+1, b, line)
		}
		if !bytes.Contains(samples, append(append([]byte("\n"), b...), '\n')) {
			t.Errorf("%s: json block %d is not a record of %s", schemaDoc, i+1, sampleAlerts)
		}
	}
}

// checkAlertShape checks one alert record, as written, against what
// docs/alert-schema.md says of the fields present: typ is the rule type;
// minEvents whether the rule sets min_events (nil: unknown); classified
// whether the alert has a classification.
func checkAlertShape(t *testing.T, fields map[string]docField, name string, line []byte, typ string, minEvents *bool, classified bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			p := prefix + k
			if sub, ok := v.(map[string]any); ok {
				if k != "group" { // its keys are the rule's group_by fields
					walk(p+".", sub)
				}
				continue
			}
			if _, ok := documented(fields, p); !ok {
				t.Errorf("%s: %s is written but not documented", name, p)
			}
		}
	}
	walk("", m)
	has := func(path string) bool {
		var v any = m
		for _, k := range strings.SplitN(path, ".", 2) {
			o, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = o[k]; !ok {
				return false
			}
		}
		return true
	}
	status := m["status"]
	want := map[string]bool{
		"resolved_at":             status == alert.StatusResolved,
		"reason":                  true,
		"reason.ratio":            typ == "ratio",
		"reason.min_attempts":     typ == "ratio",
		"reason.baseline_mean":    typ == "baseline",
		"reason.baseline_spread":  typ == "baseline",
		"reason.baseline_samples": typ == "baseline",
		"reason.sigma":            typ == "baseline",
		"reason.floor":            typ == "baseline",
		"account":                 typ == "sequence",
		"classification":          classified,
		"description":             true,
	}
	if minEvents != nil {
		want["reason.min_events"] = *minEvents
		want["reason.events"] = *minEvents || typ == "ratio"
	}
	for path, w := range want {
		if has(path) != w {
			t.Errorf("%s: a %s %s record has %s: %v, want %v", name, typ, status, path, has(path), w)
		}
	}
	if typ == "ratio" && status == alert.StatusUpdated {
		t.Errorf("%s: a ratio rule wrote an updated record", name)
	}
	if r, _ := m["reason"].(map[string]any); r["type"] != typ {
		t.Errorf("%s: reason.type %v, want %s", name, r["type"], typ)
	}
	if measure := m["measure"]; (typ == "ratio") != (measure == "failure_ratio") {
		t.Errorf("%s: measure %v for a %s rule", name, measure, typ)
	}
	if s := m["sequence"].(float64); (s == 1) != (status == alert.StatusFiring) {
		t.Errorf("%s: a %s record with sequence %v", name, status, s)
	}
	if id := fmt.Sprintf("%v-%v", m["incident_id"], m["sequence"]); m["id"] != id {
		t.Errorf("%s: id %v, want %s", name, m["id"], id)
	}
	sample := m["sample"].(map[string]any)
	for _, k := range []string{"user.name", "http.request.id", "source.ip"} {
		if _, ok := sample[k].([]any); !ok {
			t.Errorf("%s: sample.%s is %v, not a list", name, k, sample[k])
		}
	}
}

// TestSchemaDocAlerts checks alerts of every rule type, and the records
// of the sample day, against what docs/alert-schema.md says of when each
// field is present.
func TestSchemaDocAlerts(t *testing.T) {
	fields := schemaFields(t)
	later := func(sec float64) []*event.Event { // moves event time on, so that incidents resolve
		return []*event.Event{login(sec, "zz", "late", "success")}
	}
	var gateway []*event.Event
	for w := range 18 {
		for u := range 8 {
			gateway = append(gateway, login(float64(w*600+u*60), "gw", fmt.Sprintf("p%d", (w*8+u)%40), "success"))
		}
	}
	subnet := func(n int) []*event.Event {
		var out []*event.Event
		for i := range n {
			out = append(out, ev(float64(i*60), "source.ip", fmt.Sprintf("192.0.2.%d", i+1), "user.name", "bob", "event.outcome", "failure"))
		}
		return out
	}
	tests := []struct {
		name, typ, rule string
		evs             []*event.Event
		minEvents       bool
		classified      bool
	}{
		{"distinct", "distinct", `{id: d, severity: high, description: spray, group_by: [identity], distinct: user.name, window: 1m, threshold: 4, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 9, "x"), later(3600)), false, true},
		{"distinct with min_events", "distinct", `{id: d, severity: high, description: spray, group_by: [identity], distinct: user.name, window: 1m, threshold: 4, min_events: 6, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 9, "x"), later(3600)), true, true},
		{"count", "count", `{id: c, severity: low, description: many, type: count, group_by: [identity], window: 1m, threshold: 3, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 7, "x"), later(3600)), false, true},
		{"ratio", "ratio", `{id: r, severity: low, description: failing, type: ratio, ratio: 0.8, min_attempts: 3, group_by: [identity], window: 1m, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 12, "x"), later(3600)), false, true},
		{"ratio with min_events", "ratio", `{id: r, severity: low, description: failing, type: ratio, ratio: 0.8, min_attempts: 3, min_events: 4, group_by: [identity], window: 1m, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 12, "x"), later(3600)), true, true},
		{"sequence", "sequence", `{id: s, severity: critical, description: worked, type: sequence, group_by: [identity], distinct: user.name, window: 5m, threshold: 4, resolve_after: 1m}`,
			cat(spray(0, 1, "aa", 6, "x"), []*event.Event{login(30, "aa", "x03", "success"), login(40, "aa", "x04", "success")}, later(7200)), false, true},
		{"baseline", "baseline", `{id: b, severity: medium, description: above, type: baseline, group_by: [identity], distinct: user.name, window: 10m, threshold: 1, resolve_after: 1m,
     baseline: {sigma: 3, floor: 4, half_life: 2h, warmup: 1h}}`,
			cat(gateway, spray(18*600, 10, "gw", 30, "x"), later(18*600+7200)), false, true},
		{"long window of usernames", "distinct", `{id: l, severity: low, description: slow, group_by: [identity], distinct: user.name, unresolved: true, window: 2h, threshold: 20}`,
			spray(0, 60, "aa", 30, "u"), false, true},
		{"long window of addresses", "distinct", `{id: l, severity: low, description: slow, group_by: [user.name], distinct: source.ip, window: 2h, threshold: 20}`,
			subnet(30), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, _ := runEvents(t, testRule(t, "rules:\n  - "+tt.rule+"\n"), tt.evs)
			statuses := map[string]int{}
			for i := range as {
				statuses[as[i].Status]++
				line, err := as[i].AppendJSON(nil)
				if err != nil {
					t.Fatal(err)
				}
				checkAlertShape(t, fields, fmt.Sprintf("alert %d", i+1), line, tt.typ, &tt.minEvents, tt.classified)
			}
			if statuses[alert.StatusFiring] == 0 {
				t.Fatalf("no firing record: %v", statuses)
			}
			if !strings.HasPrefix(tt.name, "long") && statuses[alert.StatusResolved] == 0 {
				t.Errorf("no resolved record: %v", statuses)
			}
		})
	}
	t.Run("samples", func(t *testing.T) {
		b, err := os.ReadFile(sampleAlerts)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		if len(lines) != 47 {
			t.Fatalf("%d sample alerts, want 47", len(lines))
		}
		for i, line := range lines {
			var a alert.Alert
			d := json.NewDecoder(bytes.NewReader(line))
			d.DisallowUnknownFields()
			if err := d.Decode(&a); err != nil {
				t.Fatalf("%s:%d: %v", sampleAlerts, i+1, err)
			}
			checkAlertShape(t, fields, fmt.Sprintf("%s:%d", sampleAlerts, i+1), line, a.Reason.Type, nil, true)
		}
	})
}
