package alert

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Summarize returns a's summary sentence: its rule, certificate subject and
// group, the figures behind it and, for sequence rules, the account that
// logged in. It reads only a's fields (Status says whether the record is a
// resolution), so a record whose usernames were rewritten (Privacy.Apply)
// can have its sentence written again from what it now holds.
func Summarize(a *Alert) string {
	b := make([]byte, 0, 256)
	if a.Status == StatusResolved {
		b = append(b, "resolved: "...)
	}
	b = append(b, a.Rule...)
	b = append(b, ": "...)
	if a.Identity != nil && a.Identity.Subject != "" {
		b = append(b, "certificate "...)
		b = strconv.AppendQuote(b, a.Identity.Subject)
		b = append(b, ' ')
	}
	if len(a.Group) == 1 {
		for k, v := range a.Group {
			b = append(append(append(b, k...), '='), v...)
		}
	} else {
		keys := make([]string, 0, len(a.Group))
		for k := range a.Group {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(append(append(b, k...), '='), a.Group[k]...)
		}
	}
	measure := "events"
	if a.Reason != nil {
		measure = a.Reason.Measure
	}
	b = append(b, ": "...)
	b = appendNum(b, a.Observed)
	b = append(append(append(b, ' '), measure...), " within "...)
	b = append(append(b, a.Window...), " (threshold "...)
	b = appendNum(b, a.Threshold)
	b = append(b, "); "...)
	b = append(strconv.AppendInt(b, int64(a.Count.Events), 10), " events, "...)
	b = append(strconv.AppendInt(b, int64(a.Count.Failures), 10), " failures, "...)
	b = append(strconv.AppendInt(b, int64(a.Count.Successes), 10), " successes"...)
	if a.Account != "" {
		b = strconv.AppendQuote(append(b, "; then logged in as "...), a.Account)
	}
	if a.Classification != nil && a.Classification.Kind != ClassMixed {
		b = append(append(b, "; shape: "...), strings.ReplaceAll(a.Classification.Kind, "_", " ")...)
	}
	return string(b)
}

// appendNum appends a figure with at most two decimals to b.
func appendNum(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, math.Round(v*100)/100, 'f', -1, 64)
}
