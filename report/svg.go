package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartW    = 960
	chartH    = 240
	padLeft   = 48
	padRight  = 16
	padTop    = 16
	padBottom = 32
	// maxCols caps the bars (columns) of a chart: never one node per event.
	maxCols = 240
)

// bin is one column of a chart.
type bin struct{ fails, succs, others int64 }

// binWidth returns the smallest multiple of base by a power of two that
// splits [t0, t1) into at most cols columns.
func binWidth(base, t0, t1 int64, cols int) int64 {
	w := base
	for (t1-t0)/w >= int64(cols) {
		w *= 2
	}
	return w
}

// rebin sums the series' buckets into columns of width w from t0.
func rebin(s *series, t0, t1, w int64) []bin {
	n := int((t1-t0)/w) + 1
	out := make([]bin, n)
	for _, p := range s.pts {
		t := p.idx * s.width
		if t < t0 || t > t1 {
			continue
		}
		i := int((t - t0) / w)
		out[i].fails += int64(p.fails)
		out[i].succs += int64(p.succs)
		out[i].others += int64(p.others)
	}
	return out
}

type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, a ...any) { fmt.Fprintf(&b.Builder, format, a...) }

func esc(s string) string { return template.HTMLEscapeString(s) }

func (b *svgBuf) open(id, label string) {
	b.f(`<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-label="%s" preserveAspectRatio="xMinYMin meet">`,
		esc(id), chartW, chartH, esc(label))
	b.f(`<rect class="bg" x="0" y="0" width="%d" height="%d"/>`, chartW, chartH)
}

// axes draws the frame, y ticks up to ymax and time ticks from t0 to t1.
func (b *svgBuf) axes(t0, t1 int64, ymax float64) {
	x0, y0 := padLeft, chartH-padBottom
	b.f(`<path class="axis" d="M%d %d V%d H%d"/>`, x0, padTop, y0, chartW-padRight)
	for _, v := range []float64{0, ymax / 2, ymax} {
		y := yPos(v, ymax)
		b.f(`<path class="grid" d="M%d %.1f H%d"/><text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`,
			x0, y, chartW-padRight, x0-4, y+4, num(v))
	}
	span := t1 - t0
	layout := "15:04"
	if span > int64(48*time.Hour) {
		layout = "Jan 2 15h"
	} else if span > int64(20*time.Hour) {
		layout = "Jan 2 15:04"
	}
	const ticks = 6
	for i := 0; i <= ticks; i++ {
		t := t0 + span*int64(i)/ticks
		x := xPos(t, t0, t1)
		anchor := "middle"
		if i == 0 {
			anchor = "start"
		} else if i == ticks {
			anchor = "end"
		}
		b.f(`<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, chartH-padBottom+16, anchor,
			esc(time.Unix(0, t).UTC().Format(layout)))
	}
}

func xPos(t, t0, t1 int64) float64 {
	if t1 <= t0 {
		return padLeft
	}
	return padLeft + float64(t-t0)/float64(t1-t0)*float64(chartW-padLeft-padRight)
}

func yPos(v, ymax float64) float64 {
	if ymax <= 0 {
		ymax = 1
	}
	return float64(chartH-padBottom) - v/ymax*float64(chartH-padBottom-padTop)
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func niceMax(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtTime(t int64) string { return time.Unix(0, t).UTC().Format("2006-01-02 15:04:05Z") }

// shortTime shows an RFC 3339 alert time to the second.
func shortTime(s string) string {
	if t := parseTime(s); t != 0 {
		return fmtTime(t)
	}
	return s
}

// fmtDur writes 8m0s as 8m and 12h0m0s as 12h.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// timeline draws an incident's attempts (failures and successes stacked per
// column), the rule's threshold and the alert records.
func timeline(id string, s *series, t0, t1 int64, threshold float64, measure string, pts []point) template.HTML {
	w := binWidth(s.width, t0, t1, maxCols/2)
	t0 = floorDiv(t0, w) * w
	t1 = t0 + ((t1-t0)/w+1)*w
	bins := rebin(s, t0, t1-1, w)
	ymax := threshold
	for _, bn := range bins {
		ymax = math.Max(ymax, float64(bn.fails+bn.succs+bn.others))
	}
	for _, p := range pts {
		ymax = math.Max(ymax, p.observed)
	}
	ymax = niceMax(ymax)
	var b svgBuf
	b.open(id, "attempts over time")
	b.axes(t0, t1, ymax)
	colW := xPos(t0+w, t0, t1) - xPos(t0, t0, t1)
	for i, bn := range bins {
		if bn.fails+bn.succs+bn.others == 0 {
			continue
		}
		ts := t0 + int64(i)*w
		x := xPos(ts, t0, t1)
		y := float64(chartH - padBottom)
		tip := fmt.Sprintf("%s: %d failures, %d successes, %d other", fmtTime(ts), bn.fails, bn.succs, bn.others)
		for _, part := range []struct {
			n     int64
			class string
		}{{bn.fails, "fail"}, {bn.succs, "succ"}, {bn.others, "other"}} {
			if part.n == 0 {
				continue
			}
			h := float64(part.n) / ymax * float64(chartH-padBottom-padTop)
			y -= h
			b.f(`<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				part.class, x, y, math.Max(colW-0.5, 0.8), h, esc(tip))
		}
	}
	if threshold > 0 {
		y := yPos(threshold, ymax)
		b.f(`<path class="threshold" d="M%d %.1f H%d"/><text class="thlabel" x="%d" y="%.1f">threshold %s (%s)</text>`,
			padLeft, y, chartW-padRight, chartW-padRight-4, y-4, num(threshold), esc(measure))
	}
	for _, p := range pts {
		if p.t < t0 || p.t > t1 {
			continue
		}
		b.f(`<circle class="pt %s" cx="%.1f" cy="%.1f" r="5"><title>%s %s: observed %s</title></circle>`,
			esc(p.status), xPos(p.t, t0, t1), yPos(p.observed, ymax), esc(p.status), fmtTime(p.t), num(p.observed))
	}
	b.f(`<text class="tick" x="%d" y="%d">per %s</text>`, padLeft+4, padTop-4, esc(fmtDur(time.Duration(w))))
	b.f(`</svg>`)
	return template.HTML(b.String())
}

// overviewLine is one identity's failures in the overview chart.
type overviewLine struct {
	label string
	s     *series
}

// overviewMark is an incident start in the overview chart.
type overviewMark struct {
	t        int64
	label    string
	severity string
	anchor   string
}

var lineColours = []string{"#d9480f", "#1c7ed6", "#2b8a3e", "#ae3ec9", "#e8590c", "#0b7285"}

// overview draws login failures over time: all failures as bars, the top
// identities as lines, incidents as marks.
func overview(total *series, t0, t1 int64, lines []overviewLine, marks []overviewMark) template.HTML {
	w := binWidth(total.width, t0, t1, maxCols)
	t0 = floorDiv(t0, w) * w
	t1 = t0 + ((t1-t0)/w+1)*w
	bins := rebin(total, t0, t1-1, w)
	ymax := 0.0
	for _, bn := range bins {
		ymax = math.Max(ymax, float64(bn.fails))
	}
	ymax = niceMax(ymax)
	var b svgBuf
	b.open("overview-chart", "login failures over time")
	b.axes(t0, t1, ymax)
	colW := xPos(t0+w, t0, t1) - xPos(t0, t0, t1)
	for i, bn := range bins {
		if bn.fails == 0 {
			continue
		}
		ts := t0 + int64(i)*w
		h := float64(bn.fails) / ymax * float64(chartH-padBottom-padTop)
		b.f(`<rect class="total" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d failures (all)</title></rect>`,
			xPos(ts, t0, t1), float64(chartH-padBottom)-h, math.Max(colW-0.5, 0.8), h, fmtTime(ts), bn.fails)
	}
	for li, l := range lines {
		lb := rebin(l.s, t0, t1-1, w)
		var pts strings.Builder
		for i, bn := range lb {
			x := xPos(t0+int64(i)*w, t0, t1) + colW/2
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, yPos(float64(bn.fails), ymax))
		}
		b.f(`<polyline class="idline" stroke="%s" points="%s"><title>%s</title></polyline>`,
			lineColours[li%len(lineColours)], strings.TrimSpace(pts.String()), esc(l.label))
	}
	for _, m := range marks {
		x := xPos(m.t, t0, t1)
		b.f(`<a href="#%s"><path class="mark %s" d="M%.1f %d V%d"/><circle class="mark %s" cx="%.1f" cy="%d" r="4"><title>%s</title></circle></a>`,
			esc(m.anchor), esc(m.severity), x, padTop, chartH-padBottom, esc(m.severity), x, padTop, esc(m.label))
	}
	b.f(`<text class="tick" x="%d" y="%d">failures per %s</text>`, padLeft+4, padTop-4, esc(fmtDur(time.Duration(w))))
	b.f(`</svg>`)
	return template.HTML(b.String())
}
