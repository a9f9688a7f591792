package models

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"jianfu/policies"
)

// Bureau monitoring (issue 6): indicators of many schools at once, rolled up
// per region, read from every registered IndicatorSource generically.

// IndicatorDefs lists the definitions of every registered source, in
// registration order.
func IndicatorDefs() []IndicatorDef {
	var out []IndicatorDef
	for _, src := range IndicatorSources() {
		for _, d := range src.Defs {
			if d.Group == "" {
				d.Group = src.Group
			}
			out = append(out, d)
		}
	}
	return out
}

// ComputeIndicators runs every registered source for the schools over
// [from, to]; a school without a value for a key simply lacks the key.
func ComputeIndicators(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	return computeSources(ctx, db, schoolIDs, from, to, nil)
}

// computeSources is ComputeIndicators over the sources keep accepts (nil:
// all).
func computeSources(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string, keep func(IndicatorSource) bool) (map[int64]map[string]float64, error) {
	out := make(map[int64]map[string]float64, len(schoolIDs))
	for _, id := range schoolIDs {
		out[id] = map[string]float64{}
	}
	if len(schoolIDs) == 0 {
		return out, nil
	}
	// Sources read different rollups: run them side by side (each on its own
	// connection) unless db is a transaction, which has only one.
	var srcs []IndicatorSource
	for _, src := range IndicatorSources() {
		if keep == nil || keep(src) {
			srcs = append(srcs, src)
		}
	}
	results := make([]map[int64]map[string]float64, len(srcs))
	errs := make([]error, len(srcs))
	// (db.DB() succeeds on a transaction too: ask the connection itself.)
	_, inTx := db.Statement.ConnPool.(gorm.TxCommitter)
	var wg sync.WaitGroup
	for i, src := range srcs {
		run := func() {
			results[i], errs[i] = src.Compute(ctx, db.WithContext(ctx), schoolIDs, from, to)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("indicators %s: %w", src.Group, errs[i])
			}
		}
		if inTx || len(srcs) == 1 {
			run()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
	for i := range srcs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for id, m := range results[i] {
			dst, ok := out[id]
			if !ok {
				continue
			}
			for k, v := range m {
				dst[k] = v
			}
		}
	}
	return out, nil
}

// StudentCounts is the number of enrolled students per school (the default
// weight when schools are averaged into a region). Counting a district's
// students takes tens of milliseconds, so the counts are kept for a few
// minutes per database: enrollment hardly moves within a day.
func StudentCounts(ctx context.Context, db *gorm.DB, schoolIDs []int64) (map[int64]float64, error) {
	var key any
	if sqlDB, err := db.DB(); err == nil {
		key = sqlDB
	}
	var c *studentCounts
	if key != nil {
		studentCountMu.Lock()
		c = studentCountCache[key]
		studentCountMu.Unlock()
	}
	if c == nil || time.Since(c.at) > studentCountTTL || !c.covers(schoolIDs) {
		var rows []struct {
			SchoolID int64
			N        int64
		}
		err := db.WithContext(ctx).Model(&Student{}).Select("school_id, COUNT(*) AS n").Group("school_id").Scan(&rows).Error
		if err != nil {
			return nil, err
		}
		c = &studentCounts{at: time.Now(), n: make(map[int64]float64, len(rows))}
		for _, r := range rows {
			c.n[r.SchoolID] = float64(r.N)
		}
		c.known = map[int64]bool{}
		for _, id := range schoolIDs {
			c.known[id] = true
		}
		if key != nil {
			studentCountMu.Lock()
			studentCountCache[key] = c
			studentCountMu.Unlock()
		}
	}
	out := make(map[int64]float64, len(schoolIDs))
	for _, id := range schoolIDs {
		out[id] = c.n[id]
	}
	return out, nil
}

const studentCountTTL = 5 * time.Minute

type studentCounts struct {
	at    time.Time
	n     map[int64]float64
	known map[int64]bool
}

func (c *studentCounts) covers(ids []int64) bool {
	for _, id := range ids {
		if _, ok := c.n[id]; !ok && !c.known[id] {
			return false
		}
	}
	return true
}

var (
	studentCountMu    sync.Mutex
	studentCountCache = map[any]*studentCounts{}
)

// RollupValues combines schools' values into one set by each definition's
// aggregation (AggregationOf): sums, weighted means and shares over the
// schools that have the value (a school without it — no grade band, no
// reports — is absent, never a zero), minimum or maximum. students[i] is
// school i's enrolled students, the weight of a mean without a WeightKey.
func RollupValues(defs []IndicatorDef, values []map[string]float64, students []float64) map[string]float64 {
	out := map[string]float64{}
	for _, d := range defs {
		agg := AggregationOf(d)
		var sum, wsum float64
		n := 0
		for i, v := range values {
			x, ok := v[d.Key]
			if !ok {
				continue
			}
			switch agg {
			case AggSum:
				sum += x
			case AggMin:
				if n == 0 || x < sum {
					sum = x
				}
			case AggMax:
				if n == 0 || x > sum {
					sum = x
				}
			default: // AggMean, AggShare
				w := 1.0
				switch {
				case d.WeightKey != "":
					w = v[d.WeightKey]
				case agg == AggMean:
					w = 0
					if i < len(students) {
						w = students[i]
					}
				}
				if w <= 0 {
					continue
				}
				sum += x * w
				wsum += w
			}
			n++
		}
		switch {
		case n == 0:
		case agg == AggMean || agg == AggShare:
			out[d.Key] = round4(sum / wsum)
		default:
			out[d.Key] = round4(sum)
		}
	}
	return out
}

func round4(f float64) float64 {
	if f < 0 {
		return -round4(-f)
	}
	return float64(int64(f*10000+0.5)) / 10000
}

// TermRef names a term across schools ("2026-2027-1": the school year and
// semester) and the dates the dashboard covers: its start to the earlier of
// its end and today.
type TermRef struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// ResolveTerm finds the term key among the schools' terms; an empty key is
// the term containing today (or the latest one begun).
func ResolveTerm(ctx context.Context, db *gorm.DB, schoolIDs []int64, key, today string) (TermRef, error) {
	var terms []Term
	if len(schoolIDs) > 0 {
		if err := db.WithContext(ctx).Where("school_id IN ?", schoolIDs).Order("start_date").Find(&terms).Error; err != nil {
			return TermRef{}, err
		}
	}
	refs := termRefs(terms)
	var pick *TermRef
	if key != "" {
		for i := range refs {
			if refs[i].Key == key {
				pick = &refs[i]
			}
		}
		if pick == nil {
			return TermRef{}, Invalid("bureau.term_unknown", map[string]any{"Term": key})
		}
	} else {
		for i := range refs {
			if refs[i].From <= today {
				pick = &refs[i]
			}
		}
		if pick == nil && len(refs) > 0 {
			pick = &refs[0]
		}
		if pick == nil {
			return TermRef{}, Invalid("bureau.no_term", nil)
		}
	}
	return clampTerm(*pick, today), nil
}

// termRefs groups terms (ordered by start date) by key, in order of first
// start: each covers the earliest start to the latest end of its terms.
func termRefs(terms []Term) []TermRef {
	var out []TermRef
	at := map[string]int{}
	for _, t := range terms {
		k := fmt.Sprintf("%s-%d", t.SchoolYear, t.Semester)
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, TermRef{Key: k, Name: t.Name, From: t.StartDate, To: t.EndDate})
			continue
		}
		r := &out[i]
		if t.StartDate < r.From {
			r.From = t.StartDate
		}
		if t.EndDate > r.To {
			r.To = t.EndDate
		}
	}
	return out
}

// clampTerm ends a term under way at today.
func clampTerm(r TermRef, today string) TermRef {
	if today < r.To && today >= r.From {
		r.To = today
	}
	return r
}

// SchoolIndicators is one school's line on the dashboard.
type SchoolIndicators struct {
	ID         int64              `json:"id"`
	Name       string             `json:"name"`
	RegionCode string             `json:"region_code"`
	Students   int64              `json:"students"`
	Indicators map[string]float64 `json:"indicators"`
	Score      float64            `json:"score"`       // needs-attention score, higher is worse
	OpenAlerts int                `json:"open_alerts"` // open or acknowledged alerts
	Breaches   []string           `json:"breaches"`    // rule ids breached over the term
}

// RegionRollup is the indicators of a region (its sub-regions included).
type RegionRollup struct {
	Code       string             `json:"code"`
	Name       string             `json:"name"`
	Schools    int                `json:"schools"`
	Students   int64              `json:"students"`
	Indicators map[string]float64 `json:"indicators"`
}

// Dashboard is a region's schools with their indicators, worst first.
type Dashboard struct {
	Region     Region               `json:"region"`
	Term       TermRef              `json:"term"`
	Defs       []IndicatorDef       `json:"indicators"`
	Rules      []policies.AlertRule `json:"rules"`
	Rollup     RegionRollup         `json:"rollup"`
	SubRegions []RegionRollup       `json:"sub_regions"`
	Schools    []SchoolIndicators   `json:"schools"`
}

// SettingAlertRules is the settings key of a region's alert rules.
const SettingAlertRules = "bureau.alert_rules"

// SettingReportCycles is the settings key of the report cycles a region asks
// for beyond the national semi-monthly one (monthly, term).
const SettingReportCycles = "bureau.report_cycles"

// RegionScopes is the settings chain of a region: itself, its parents, "*".
func RegionScopes(ctx context.Context, db *gorm.DB, code string) ([]string, error) {
	path, err := RegionPath(ctx, db, code)
	if err != nil {
		return nil, err
	}
	return policies.DomainChain(0, path), nil
}

// AlertRulesAt is the alert rules that apply along scopes.
func AlertRulesAt(ctx context.Context, db *gorm.DB, scopes []string) ([]policies.AlertRule, error) {
	var rules []policies.AlertRule
	found, err := LookupSetting(ctx, db, scopes, SettingAlertRules, &rules)
	if err != nil {
		return nil, err
	}
	if found == "" {
		rules = append([]policies.AlertRule(nil), policies.DefaultAlertRules...)
	}
	return rules, nil
}

// OpenAlertCounts counts the not-yet-resolved alerts per school.
func OpenAlertCounts(ctx context.Context, db *gorm.DB, schoolIDs []int64) (map[int64]int, error) {
	var rows []struct {
		SchoolID int64
		N        int
	}
	err := db.WithContext(ctx).Model(&Alert{}).Select("school_id, COUNT(*) AS n").
		Where("school_id IN ? AND status <> ?", schoolIDs, policies.AlertResolved).Group("school_id").Scan(&rows).Error
	out := map[int64]int{}
	for _, r := range rows {
		out[r.SchoolID] = r.N
	}
	return out, err
}

// BuildDashboard gives the dashboard of region code (its sub-regions
// included) over a term: every school's indicators, rolled up per direct
// sub-region and for the region, schools sorted worst first. It reads the
// indicator rollup rows (one per school, and the regions' pre-summed rows);
// a school without a row for the term's range is computed live.
func BuildDashboard(ctx context.Context, db *gorm.DB, code, termKey, today string) (*Dashboard, error) {
	return buildDashboard(ctx, db, code, termKey, today, false)
}

// BuildDashboardRaw is BuildDashboard computed from the area rollups, rows
// ignored: what the rollup rows must always agree with.
func BuildDashboardRaw(ctx context.Context, db *gorm.DB, code, termKey, today string) (*Dashboard, error) {
	return buildDashboard(ctx, db, code, termKey, today, true)
}

func buildDashboard(ctx context.Context, db *gorm.DB, code, termKey, today string, raw bool) (*Dashboard, error) {
	region, err := GetRegion(ctx, db, code)
	if err != nil {
		return nil, err
	}
	codes, err := SubRegionCodes(ctx, db, code)
	if err != nil {
		return nil, err
	}
	schools, err := SchoolsInRegions(ctx, db, codes)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(schools))
	for i, s := range schools {
		ids[i] = s.ID
	}
	term, err := ResolveTerm(ctx, db, ids, termKey, today)
	if err != nil {
		return nil, err
	}
	scopes, err := RegionScopes(ctx, db, code)
	if err != nil {
		return nil, err
	}
	rules, err := AlertRulesAt(ctx, db, scopes)
	if err != nil {
		return nil, err
	}
	vals, students, versions, err := schoolValues(ctx, db, ids, term, raw)
	if err != nil {
		return nil, err
	}
	open, err := OpenAlertCounts(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{Region: *region, Term: term, Defs: IndicatorDefs(), Rules: rules, Schools: make([]SchoolIndicators, 0, len(schools))}
	for _, s := range schools {
		v := vals[s.ID]
		si := SchoolIndicators{ID: s.ID, Name: s.Name, RegionCode: s.RegionCode, Students: int64(students[s.ID]),
			Indicators: v, OpenAlerts: open[s.ID], Breaches: []string{}}
		si.Score = policies.AttentionScore(v, rules, si.OpenAlerts)
		for _, r := range rules {
			if x, ok := v[r.Key]; ok && r.Breached(x) {
				si.Breaches = append(si.Breaches, r.ID)
			}
		}
		d.Schools = append(d.Schools, si)
	}
	SortSchools(d.Schools, "", false)
	var pre map[string]RegionIndicatorRollup
	if !raw && !hasLiveSources() {
		if pre, err = regionRollupRows(ctx, db, term); err != nil {
			return nil, err
		}
	}
	d.Rollup = presummed(pre, versions, region.Code, region.Name, d.Defs, d.Schools, nil)
	// Direct sub-regions, each with everything below it.
	var all []Region
	if err := db.WithContext(ctx).Order("code").Find(&all).Error; err != nil {
		return nil, err
	}
	parent := map[string]string{}
	for _, r := range all {
		if r.ParentCode != nil {
			parent[r.Code] = *r.ParentCode
		}
	}
	for _, r := range all {
		if r.ParentCode == nil || *r.ParentCode != code {
			continue
		}
		d.SubRegions = append(d.SubRegions, presummed(pre, versions, r.Code, r.Name, d.Defs, d.Schools, func(rc string) bool {
			for c := rc; c != ""; c = parent[c] {
				if c == r.Code {
					return true
				}
			}
			return false
		}))
	}
	if d.SubRegions == nil {
		d.SubRegions = []RegionRollup{}
	}
	return d, nil
}

// schoolValues gives each school's indicators and students over term: from
// the rollup rows (with their versions), the rest computed live; all live
// when raw.
func schoolValues(ctx context.Context, db *gorm.DB, ids []int64, term TermRef, raw bool) (vals map[int64]map[string]float64, students map[int64]float64, versions map[int64]int64, err error) {
	vals = make(map[int64]map[string]float64, len(ids))
	students = make(map[int64]float64, len(ids))
	versions = map[int64]int64{}
	missing := ids
	if !raw {
		var rows map[int64]IndicatorRollup
		rows, missing, err = SchoolRollups(ctx, db, ids, term)
		if err != nil {
			return nil, nil, nil, err
		}
		// A school still waiting in the outbox has a stale row: computed
		// live, so a dashboard never lags the writes it can see.
		dirty, err := DirtySchools(ctx, db)
		if err != nil {
			return nil, nil, nil, err
		}
		for id := range dirty {
			if _, ok := rows[id]; ok {
				delete(rows, id)
				missing = append(missing, id)
			}
		}
		for id, r := range rows {
			if vals[id], err = r.Values(); err != nil {
				return nil, nil, nil, fmt.Errorf("indicator rollup of school %d: %w", id, err)
			}
			students[id] = float64(r.Students)
			versions[id] = r.Version
		}
	}
	if !raw && hasLiveSources() && len(missing) < len(ids) {
		// Sources without tables are not in the rows: computed here.
		var have []int64
		for id := range versions {
			have = append(have, id)
		}
		live, err := computeSources(ctx, db, have, term.From, term.To, func(src IndicatorSource) bool { return !trackedSource(src) })
		if err != nil {
			return nil, nil, nil, err
		}
		for id, m := range live {
			for k, v := range m {
				vals[id][k] = v
			}
		}
	}
	if len(missing) == 0 {
		return vals, students, versions, nil
	}
	live, err := ComputeIndicators(ctx, db, missing, term.From, term.To)
	if err != nil {
		return nil, nil, nil, err
	}
	var n map[int64]float64
	if raw {
		var c map[int64]int64
		c, err = studentCountsOf(ctx, db, missing)
		n = make(map[int64]float64, len(c))
		for id, x := range c {
			n[id] = float64(x)
		}
	} else {
		n, err = StudentCounts(ctx, db, missing)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	for _, id := range missing {
		vals[id], students[id] = live[id], n[id]
	}
	return vals, students, versions, nil
}

// regionRollupRows reads the regions' pre-summed rows of term's range.
func regionRollupRows(ctx context.Context, db *gorm.DB, term TermRef) (map[string]RegionIndicatorRollup, error) {
	var rows []RegionIndicatorRollup
	if err := db.WithContext(ctx).Where("period = ? AND from_date = ? AND to_date = ?", term.Key, term.From, term.To).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]RegionIndicatorRollup, len(rows))
	for _, r := range rows {
		out[r.RegionCode] = r
	}
	return out, nil
}

// presummed is the region's rollup: its pre-summed row when that row was
// summed from exactly the school rows the dashboard read (same schools, no
// newer version), else summed here from the schools' lines.
func presummed(pre map[string]RegionIndicatorRollup, versions map[int64]int64, code, name string, defs []IndicatorDef, schools []SchoolIndicators, in func(regionCode string) bool) RegionRollup {
	if row, ok := pre[code]; ok {
		n, top, fromRows := 0, int64(0), true
		var students int64
		for _, s := range schools {
			if in != nil && !in(s.RegionCode) {
				continue
			}
			n++
			students += s.Students
			v, ok := versions[s.ID]
			if !ok {
				fromRows = false
				break
			}
			top = max(top, v)
		}
		if fromRows && n == row.Schools && top == row.Version && students == row.Students {
			if vals, err := decodeVals(row.Vals); err == nil {
				return RegionRollup{Code: code, Name: name, Schools: n, Students: students, Indicators: vals}
			}
		}
	}
	return rollupOf(code, name, defs, schools, in)
}

// rollupOf sums the schools' lines in school id order (the order the
// pre-summed rows use, so both give the same floating-point sums).
func rollupOf(code, name string, defs []IndicatorDef, schools []SchoolIndicators, in func(regionCode string) bool) RegionRollup {
	var values []map[string]float64
	var weights []float64
	r := RegionRollup{Code: code, Name: name}
	byID := make([]SchoolIndicators, len(schools))
	copy(byID, schools)
	sort.Slice(byID, func(i, j int) bool { return byID[i].ID < byID[j].ID })
	for _, s := range byID {
		if in != nil && !in(s.RegionCode) {
			continue
		}
		r.Schools++
		r.Students += s.Students
		values = append(values, s.Indicators)
		weights = append(weights, float64(s.Students))
	}
	r.Indicators = RollupValues(defs, values, weights)
	return r
}

// SortSchools orders the dashboard: by default worst first (score, then
// name); by an indicator key, worst first unless asc, where "worst" follows
// the indicator's direction. Schools without the value go last.
func SortSchools(schools []SchoolIndicators, key string, higherIsBetter bool) {
	sort.SliceStable(schools, func(i, j int) bool {
		a, b := schools[i], schools[j]
		if key == "" || key == "score" {
			if a.Score != b.Score {
				return a.Score > b.Score
			}
			return a.Name < b.Name
		}
		if key == "name" {
			return a.Name < b.Name
		}
		x, okx := a.Indicators[key]
		y, oky := b.Indicators[key]
		if okx != oky {
			return okx
		}
		if x != y {
			if higherIsBetter {
				return x < y
			}
			return x > y
		}
		return a.Name < b.Name
	})
}

// WeekPoint is one week of a trend.
type WeekPoint struct {
	Week   string             `json:"week"` // ISO week 2026-W48
	From   string             `json:"from"`
	To     string             `json:"to"`
	Values map[string]float64 `json:"values"`
}

// WeeklyTrend computes the schools' rolled-up indicators week by week over
// [from, to] (a week is Monday to Sunday, cut to the range).
func WeeklyTrend(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) ([]WeekPoint, error) {
	start, err := time.Parse(DateLayout, from)
	if err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": from})
	}
	end, err := time.Parse(DateLayout, to)
	if err != nil {
		return nil, Invalid("error.bad_date", map[string]any{"Value": to})
	}
	students, err := StudentCounts(ctx, db, schoolIDs)
	if err != nil {
		return nil, err
	}
	defs := IndicatorDefs()
	var out []WeekPoint
	for w := policies.WeekStart(start); !w.After(end) && len(out) < 60; w = w.AddDate(0, 0, 7) {
		f, t := w, w.AddDate(0, 0, 6)
		if f.Before(start) {
			f = start
		}
		if t.After(end) {
			t = end
		}
		vals, err := ComputeIndicators(ctx, db, schoolIDs, f.Format(DateLayout), t.Format(DateLayout))
		if err != nil {
			return nil, err
		}
		var vs []map[string]float64
		var ws []float64
		for _, id := range schoolIDs {
			vs = append(vs, vals[id])
			ws = append(ws, students[id])
		}
		out = append(out, WeekPoint{Week: policies.WeekKey(w), From: f.Format(DateLayout), To: t.Format(DateLayout), Values: RollupValues(defs, vs, ws)})
	}
	return out, nil
}

// FindDef returns the definition of an indicator key.
func FindDef(defs []IndicatorDef, key string) (IndicatorDef, bool) {
	for _, d := range defs {
		if d.Key == key {
			return d, true
		}
	}
	return IndicatorDef{}, false
}

// Groups lists the groups of defs in order of first appearance.
func Groups(defs []IndicatorDef) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range defs {
		if !seen[d.Group] {
			seen[d.Group] = true
			out = append(out, d.Group)
		}
	}
	return out
}

// ResolveRegionTerm is the term a dashboard of region code shows for key
// (empty: the current one) on day today.
func ResolveRegionTerm(ctx context.Context, db *gorm.DB, code, key, today string) (TermRef, error) {
	codes, err := SubRegionCodes(ctx, db, code)
	if err != nil {
		return TermRef{}, err
	}
	schools, err := SchoolsInRegions(ctx, db, codes)
	if err != nil {
		return TermRef{}, err
	}
	ids := make([]int64, len(schools))
	for i, s := range schools {
		ids[i] = s.ID
	}
	return ResolveTerm(ctx, db, ids, key, today)
}

// ValidateAlertRules checks a region's alert rules: each well formed, on a
// registered indicator that may be alerted on (participation is shown,
// never alerted on: AS-04), and one rule per rule id (an alert is one per
// school, rule id and week, so a second rule under an id would never raise
// its own).
func ValidateAlertRules(rules []policies.AlertRule) error {
	defs := IndicatorDefs()
	for _, r := range rules {
		if !r.Valid() {
			return Invalid("bureau.rule_invalid", map[string]any{"Rule": r.ID})
		}
		d, ok := FindDef(defs, r.Key)
		if !ok {
			return Invalid("bureau.rule_unknown_indicator", map[string]any{"Rule": r.ID, "Key": r.Key})
		}
		if d.NoAlert {
			return RuleError("indicator_not_alertable", policies.RuleAS04, "bureau.rule_not_alertable", map[string]any{"Rule": r.ID, "Key": r.Key},
				map[string]any{"indicator": r.Key})
		}
	}
	if id := policies.DuplicateRuleID(rules); id != "" {
		return Invalid("bureau.rule_duplicate", map[string]any{"Rule": id})
	}
	return nil
}
