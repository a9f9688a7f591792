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
	// WeightKey optionally names another indicator of the same group whose
	// value weights this one when schools are averaged into a region (e.g.
	// the class-days behind a percentage); empty weights by enrolled students.
	WeightKey string `json:"-"`
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
