package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// IndicatorDef describes one school indicator the bureau watches.
type IndicatorDef struct {
	Key            string `json:"key"`   // "hw.days_within_cap_pct"
	Group          string `json:"group"` // homework, afterschool, exams, complaints
	MsgID          string `json:"-"`     // catalog key of its label
	Unit           string `json:"unit"`  // pct (0..1), minutes, count, ratio, days
	HigherIsBetter bool   `json:"higher_is_better"`
	// Agg is how schools' values combine into a region's (AggSum,
	// AggMean, AggShare, AggMin, AggMax). Empty means AggSum for counts and
	// AggMean otherwise (AggregationOf), so older definitions keep working.
	Agg string `json:"aggregation"`
	// WeightKey names another indicator (usually a count of the same group)
	// whose value weights this one in AggMean and AggShare: the class-days
	// behind an average, the denominator behind a share. Empty weighs
	// AggMean by enrolled students and AggShare by school (a share of
	// schools). A school without the weight, or with weight 0, is left out.
	WeightKey string `json:"weight_key,omitempty"`
	// Rule is the POLICY.md rule id the indicator measures ("" when none).
	Rule string `json:"rule,omitempty"`
	// NoAlert marks a value that is shown but never alerted on (AS-04:
	// participation is voluntary; an alert on it would push schools to
	// force attendance). An alert rule on it is refused.
	NoAlert bool `json:"no_alert,omitempty"`
}

// Aggregations of an indicator into a region: every definition declares one
// (issue 9) and RollupValues is the one place that applies them.
const (
	AggSum   = "sum"   // counts: Σ x
	AggMean  = "mean"  // weighted mean: Σ x·w / Σ w over the schools that have x and w
	AggShare = "share" // a share: Σ x·d / Σ d with d its denominator (WeightKey), i.e. Σ numerators / Σ denominators
	AggMin   = "min"   // the lowest school (worst of a "higher is better" value)
	AggMax   = "max"   // the highest school
)

// AggregationOf is the aggregation a definition declares, defaulting by unit.
func AggregationOf(d IndicatorDef) string {
	if d.Agg != "" {
		return d.Agg
	}
	if d.Unit == "count" {
		return AggSum
	}
	return AggMean
}

// IndicatorSource computes one group of indicators for many schools at once
// over [from, to] (dates YYYY-MM-DD), from maintained rollups, never raw rows.
// Each area registers its source in an init func; the bureau dashboard, the
// reports and the alerts read every registered source.
type IndicatorSource struct {
	Group string
	Defs  []IndicatorDef
	// Tables names every table Compute reads (each has a school_id column).
	// A write to one of them marks the school's indicator rollup rows dirty
	// (EnsureIndicatorTriggers), so the dashboard's rows follow; a table left
	// out leaves the rows stale until `jianfu indicators rebuild`.
	Tables []string
	// Compute must give a school the same values whichever other schools
	// are asked with it: the rollup rows are computed a few schools at a time.
	Compute func(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error)
}

var (
	indicatorMu      sync.Mutex
	indicatorSources []IndicatorSource
	indicatorIDs     []int
	indicatorSeq     int
)

// RegisterIndicators adds a source of indicators. The returned func removes
// it again (tests register fixture sources and remove them at cleanup);
// callers in init funcs ignore it.
func RegisterIndicators(src IndicatorSource) (unregister func()) {
	indicatorMu.Lock()
	defer indicatorMu.Unlock()
	indicatorSeq++
	id := indicatorSeq
	indicatorSources = append(indicatorSources, src)
	indicatorIDs = append(indicatorIDs, id)
	return func() {
		indicatorMu.Lock()
		defer indicatorMu.Unlock()
		for i, x := range indicatorIDs {
			if x == id {
				indicatorSources = append(indicatorSources[:i:i], indicatorSources[i+1:]...)
				indicatorIDs = append(indicatorIDs[:i:i], indicatorIDs[i+1:]...)
				return
			}
		}
	}
}

// IndicatorSources lists the registered sources in registration order.
func IndicatorSources() []IndicatorSource {
	indicatorMu.Lock()
	defer indicatorMu.Unlock()
	return append([]IndicatorSource(nil), indicatorSources...)
}
