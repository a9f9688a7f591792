package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Indicator rollups (issue 12): every school's indicator values per period
// (a term key, over the dates the dashboard covers for it) are kept in
// indicator_rollups, and the same summed per region in
// region_indicator_rollups, so a dashboard over thousands of schools reads
// N+1 rows and never the area rollups or raw rows.
//
// How they follow the writes: every table an IndicatorSource reads has a
// trigger (EnsureIndicatorTriggers) that puts the school's id into
// indicator_outbox in the writing transaction — it commits or rolls back
// with the write. DrainIndicatorOutbox, run every couple of seconds by one
// process at a time (an advisory lock on PostgreSQL), recomputes those
// schools' rows with the sources' own Compute and re-sums their regions.
//
// Why an outbox and not an update in the writing transaction: the region's
// pre-summed row is shared by every school of a province; updating it in
// each homework save would serialize all saves of a province on one row lock,
// and recomputing a school's term inside the save would add milliseconds to
// the save path, which has a throughput goal of its own. An outbox insert is
// one short statement without contention; the dashboard lags the writes by
// the drain interval (IndicatorDrainInterval), which a bureau screen can bear.
// The rows are stamped with a version; the dashboard's cache keys and ETags
// use it.

func init() {
	All = append(All, &IndicatorRollup{}, &RegionIndicatorRollup{}, &IndicatorOutboxEntry{})
}

// IndicatorDrainInterval is how often the server drains the outbox.
const IndicatorDrainInterval = 2 * time.Second

// IndicatorRollup is one school's indicators over one period.
type IndicatorRollup struct {
	ID        int64
	SchoolID  int64
	Period    string // term key, 2026-2027-1
	FromDate  string
	ToDate    string
	Students  int64
	Vals      string // JSON object: indicator key → value
	Sources   string // TrackedSignature of the sources the values came from
	Version   int64
	UpdatedAt time.Time
}

// TableName names the table of IndicatorRollup.
func (IndicatorRollup) TableName() string { return "indicator_rollups" }

// Values decodes the row's indicator values.
func (r IndicatorRollup) Values() (map[string]float64, error) { return decodeVals(r.Vals) }

// RegionIndicatorRollup is one region's indicators (its sub-regions
// included) over one period, summed from its schools' rows. Version is the
// highest version among those rows: the row is current while no school row
// of the region has a higher one.
type RegionIndicatorRollup struct {
	ID         int64
	RegionCode string
	Period     string
	FromDate   string
	ToDate     string
	Schools    int
	Students   int64
	Vals       string
	Version    int64
	UpdatedAt  time.Time
}

// TableName names the table of RegionIndicatorRollup.
func (RegionIndicatorRollup) TableName() string { return "region_indicator_rollups" }

// IndicatorOutboxEntry says a school's indicator inputs changed.
type IndicatorOutboxEntry struct {
	ID        int64
	SchoolID  int64
	CreatedAt time.Time
}

// TableName names the table of IndicatorOutboxEntry.
func (IndicatorOutboxEntry) TableName() string { return "indicator_outbox" }

func decodeVals(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if s == "" {
		return out, nil
	}
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

func encodeVals(m map[string]float64) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // map[string]float64 of finite numbers always encodes
	return string(b)
}

// trackedSource reports whether a source's values are kept in the rollup
// rows: it declares the tables it reads, so the outbox follows its inputs.
// A source without tables (a test fixture, a source under construction) is
// computed live on every dashboard read.
func trackedSource(src IndicatorSource) bool { return len(src.Tables) > 0 }

// TrackedSignature names the set of tracked sources and their keys: a row
// computed under another set (an indicator added since) is not used, and
// RollIndicatorPeriods rebuilds it.
func TrackedSignature() string {
	var keys []string
	for _, src := range IndicatorSources() {
		if !trackedSource(src) {
			continue
		}
		for _, d := range src.Defs {
			keys = append(keys, src.Group+":"+d.Key)
		}
		keys = append(keys, "tables:"+strings.Join(src.Tables, ","))
	}
	sort.Strings(keys)
	h := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(h[:8])
}

// hasLiveSources reports whether some registered source is not tracked.
func hasLiveSources() bool {
	for _, src := range IndicatorSources() {
		if !trackedSource(src) {
			return true
		}
	}
	return false
}

// IndicatorTables lists the tables whose writes change some indicator: the
// tables each registered source declares, and students (the weights).
func IndicatorTables() []string {
	set := map[string]bool{"students": true}
	for _, src := range IndicatorSources() {
		for _, t := range src.Tables {
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// EnsureIndicatorTriggers gives every table of IndicatorTables its outbox
// trigger. It runs after the migrations: the set of tables follows the
// registered sources, so a new indicator reading a new table only declares
// it. PostgreSQL gets statement triggers (one outbox row per school and
// statement, bulk loads included); SQLite row triggers that skip a school
// already waiting in the outbox (SQLite writers are serialized, and the drain
// runs in one write transaction, so the skip loses nothing).
func EnsureIndicatorTriggers(ctx context.Context, db *gorm.DB) error {
	db = db.WithContext(ctx)
	for _, t := range IndicatorTables() {
		if !identRe.MatchString(t) {
			return fmt.Errorf("indicator table %q: not a plain name", t)
		}
		if !db.Migrator().HasTable(t) {
			continue
		}
		if DialectOf(db) == Postgres {
			for _, ev := range []struct{ op, ref string }{
				{"INSERT", "NEW TABLE AS new_rows"},
				{"UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"},
				{"DELETE", "OLD TABLE AS old_rows"},
			} {
				name := "jianfu_ind_" + strings.ToLower(ev.op)
				var n int64
				if err := db.Raw("SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = to_regclass(?) AND tgname = ?", t, name).Scan(&n).Error; err != nil {
					return err
				}
				if n > 0 {
					continue
				}
				if err := db.Exec(fmt.Sprintf("CREATE TRIGGER %s AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION jianfu_indicator_dirty()",
					name, ev.op, t, ev.ref)).Error; err != nil {
					return fmt.Errorf("indicator trigger on %s: %w", t, err)
				}
			}
			continue
		}
		ins := func(rec string) string {
			return fmt.Sprintf("INSERT INTO indicator_outbox(school_id) SELECT %[1]s.school_id WHERE %[1]s.school_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM indicator_outbox o WHERE o.school_id = %[1]s.school_id);", rec)
		}
		for _, ev := range []struct{ op, body string }{
			{"INSERT", ins("NEW")}, {"UPDATE", ins("NEW") + " " + ins("OLD")}, {"DELETE", ins("OLD")},
		} {
			sql := fmt.Sprintf("CREATE TRIGGER IF NOT EXISTS jianfu_ind_%s_%s AFTER %s ON %s BEGIN %s END", t, strings.ToLower(ev.op), ev.op, t, ev.body)
			if err := db.Exec(sql).Error; err != nil {
				return fmt.Errorf("indicator trigger on %s: %w", t, err)
			}
		}
	}
	return nil
}

// indicatorLockKey is the advisory lock that serializes drains and rebuilds
// across replicas: two drains computing the same school at different moments
// could otherwise write the older values last.
const indicatorLockKey = 0x6a66_0012

func lockIndicators(tx *gorm.DB) error {
	if DialectOf(tx) != Postgres {
		return nil // SQLite transactions take the write lock at BEGIN
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?)", indicatorLockKey).Error
}

// DrainIndicatorOutbox recomputes the rollup rows of the schools waiting in
// the outbox, oldest first, and the rows of their regions; it returns how
// many schools it refreshed. The entries it read are deleted by id in the
// same transaction, after the recompute: an entry committed meanwhile stays
// for the next drain.
func DrainIndicatorOutbox(ctx context.Context, db *gorm.DB) (int, error) {
	total := 0
	for {
		n, more, err := drainOnce(ctx, db)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

const drainBatch = 2000

func drainOnce(ctx context.Context, db *gorm.DB) (schools int, more bool, err error) {
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		if err := lockIndicators(tx); err != nil {
			return err
		}
		var entries []IndicatorOutboxEntry
		if err := tx.Order("id").Limit(drainBatch).Find(&entries).Error; err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		more = len(entries) == drainBatch
		seen := map[int64]bool{}
		var ids, entryIDs []int64
		for _, e := range entries {
			entryIDs = append(entryIDs, e.ID)
			if !seen[e.SchoolID] {
				seen[e.SchoolID] = true
				ids = append(ids, e.SchoolID)
			}
		}
		periods, err := storedPeriods(ctx, tx)
		if err != nil {
			return err
		}
		// Schools deleted since (a test's cleanup) have nothing to refresh.
		var live []int64
		if err := tx.Model(&School{}).Where("id IN ?", ids).Order("id").Pluck("id", &live).Error; err != nil {
			return err
		}
		if err := refreshRollups(ctx, tx, live, periods); err != nil {
			return err
		}
		schools = len(live)
		for i := 0; i < len(entryIDs); i += 500 {
			if err := tx.Where("id IN ?", entryIDs[i:min(i+500, len(entryIDs))]).Delete(&IndicatorOutboxEntry{}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return schools, more, err
}

// storedPeriods lists the periods rows exist for, with their ranges.
func storedPeriods(ctx context.Context, db *gorm.DB) ([]TermRef, error) {
	var out []TermRef
	err := db.WithContext(ctx).Model(&IndicatorRollup{}).Distinct("period AS key", "from_date AS \"from\"", "to_date AS \"to\"").
		Order("period").Scan(&out).Error
	return out, err
}

// IndicatorPeriods is every term key of the schools (nil: all schools) with
// the range the dashboard covers for it on day today, as ResolveTerm gives it.
func IndicatorPeriods(ctx context.Context, db *gorm.DB, schoolIDs []int64, today string) ([]TermRef, error) {
	var terms []Term
	q := db.WithContext(ctx).Order("start_date")
	if schoolIDs != nil {
		q = q.Where("school_id IN ?", schoolIDs)
	}
	if err := q.Find(&terms).Error; err != nil {
		return nil, err
	}
	refs := termRefs(terms)
	for i := range refs {
		refs[i] = clampTerm(refs[i], today)
	}
	return refs, nil
}

// refreshRollups recomputes the rows of schools (sorted ids) for periods,
// then the rows of every region above them.
func refreshRollups(ctx context.Context, tx *gorm.DB, schools []int64, periods []TermRef) error {
	if len(schools) == 0 || len(periods) == 0 {
		return nil
	}
	version := time.Now().UnixNano()
	now := time.Now().UTC()
	sig := TrackedSignature()
	for i := 0; i < len(schools); i += 500 {
		chunk := schools[i:min(i+500, len(schools))]
		students, err := studentCountsOf(ctx, tx, chunk)
		if err != nil {
			return err
		}
		for _, p := range periods {
			vals, err := computeSources(ctx, tx, chunk, p.From, p.To, trackedSource)
			if err != nil {
				return err
			}
			rows := make([]IndicatorRollup, 0, len(chunk))
			for _, id := range chunk {
				rows = append(rows, IndicatorRollup{SchoolID: id, Period: p.Key, FromDate: p.From, ToDate: p.To,
					Students: students[id], Vals: encodeVals(vals[id]), Sources: sig, Version: version, UpdatedAt: now})
			}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "school_id"}, {Name: "period"}},
				DoUpdates: clause.AssignmentColumns([]string{"from_date", "to_date", "students", "vals", "sources", "version", "updated_at"}),
			}).CreateInBatches(&rows, 200).Error; err != nil {
				return err
			}
		}
	}
	return refreshRegionRollups(ctx, tx, schools, periods)
}

// studentCountsOf counts enrolled students per school, uncached.
func studentCountsOf(ctx context.Context, db *gorm.DB, ids []int64) (map[int64]int64, error) {
	var rows []struct {
		SchoolID int64
		N        int64
	}
	err := db.WithContext(ctx).Model(&Student{}).Select("school_id, COUNT(*) AS n").Where("school_id IN ?", ids).Group("school_id").Scan(&rows).Error
	out := make(map[int64]int64, len(ids))
	for _, r := range rows {
		out[r.SchoolID] = r.N
	}
	return out, err
}

// regionTree is every region with its parent, and every school's region.
type regionTree struct {
	parent   map[string]string
	schoolOf map[int64]string // school id → region code
	ids      []int64          // every school, sorted
}

func loadRegionTree(ctx context.Context, db *gorm.DB) (*regionTree, error) {
	var regions []Region
	if err := db.WithContext(ctx).Find(&regions).Error; err != nil {
		return nil, err
	}
	t := &regionTree{parent: map[string]string{}, schoolOf: map[int64]string{}}
	for _, r := range regions {
		if r.ParentCode != nil {
			t.parent[r.Code] = *r.ParentCode
		}
	}
	var schools []School
	if err := db.WithContext(ctx).Select("id, region_code").Order("id").Find(&schools).Error; err != nil {
		return nil, err
	}
	for _, s := range schools {
		t.schoolOf[s.ID] = s.RegionCode
		t.ids = append(t.ids, s.ID)
	}
	return t, nil
}

// under reports whether region rc is code or below it.
func (t *regionTree) under(rc, code string) bool {
	for c, n := rc, 0; c != "" && n < 64; c, n = t.parent[c], n+1 {
		if c == code {
			return true
		}
	}
	return false
}

// ancestors lists rc and every region above it.
func (t *regionTree) ancestors(rc string) []string {
	var out []string
	for c, n := rc, 0; c != "" && n < 64; c, n = t.parent[c], n+1 {
		out = append(out, c)
	}
	return out
}

// refreshRegionRollups re-sums, for periods, every region above schools.
func refreshRegionRollups(ctx context.Context, tx *gorm.DB, schools []int64, periods []TermRef) error {
	tree, err := loadRegionTree(ctx, tx)
	if err != nil {
		return err
	}
	codes := map[string]bool{}
	for _, id := range schools {
		for _, c := range tree.ancestors(tree.schoolOf[id]) {
			codes[c] = true
		}
	}
	if len(codes) == 0 {
		return nil
	}
	defs := trackedDefs()
	now := time.Now().UTC()
	sig := TrackedSignature()
	for _, p := range periods {
		var rows []IndicatorRollup
		if err := tx.Where("period = ?", p.Key).Order("school_id").Find(&rows).Error; err != nil {
			return err
		}
		type line struct {
			region string
			row    IndicatorRollup
			vals   map[string]float64
		}
		lines := make([]line, 0, len(rows))
		for _, r := range rows {
			v, err := r.Values()
			if err != nil {
				return err
			}
			lines = append(lines, line{tree.schoolOf[r.SchoolID], r, v})
		}
		var out []RegionIndicatorRollup
		for code := range codes {
			rr := RegionIndicatorRollup{RegionCode: code, Period: p.Key, FromDate: p.From, ToDate: p.To, UpdatedAt: now}
			var values []map[string]float64
			var weights []float64
			for _, l := range lines {
				if !tree.under(l.region, code) || l.row.FromDate != p.From || l.row.ToDate != p.To || l.row.Sources != sig {
					continue
				}
				rr.Schools++
				rr.Students += l.row.Students
				rr.Version = max(rr.Version, l.row.Version)
				values = append(values, l.vals)
				weights = append(weights, float64(l.row.Students))
			}
			rr.Vals = encodeVals(RollupValues(defs, values, weights))
			out = append(out, rr)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].RegionCode < out[j].RegionCode })
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "region_code"}, {Name: "period"}},
			DoUpdates: clause.AssignmentColumns([]string{"from_date", "to_date", "schools", "students", "vals", "version", "updated_at"}),
		}).Create(&out).Error; err != nil {
			return err
		}
	}
	return nil
}

// RebuildResult says what a rebuild recomputed.
type RebuildResult struct {
	Periods []TermRef
	Schools int
}

// RebuildIndicatorRollups recomputes from the area rollups the rows of the
// schools (nil: every school) for every period overlapping [from, to] (either
// may be empty: open), with the ranges of day today, and the rows of their
// regions. It is what `jianfu indicators rebuild` runs, and what the seed
// runs after a bulk load (set-based: a few hundred schools per statement).
func RebuildIndicatorRollups(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to, today string) (RebuildResult, error) {
	var res RebuildResult
	err := Tx(ctx, db, func(tx *gorm.DB) error {
		if err := lockIndicators(tx); err != nil {
			return err
		}
		all, err := IndicatorPeriods(ctx, tx, nil, today)
		if err != nil {
			return err
		}
		for _, p := range all {
			if (from == "" || p.To >= from) && (to == "" || p.From <= to) {
				res.Periods = append(res.Periods, p)
			}
		}
		ids := schoolIDs
		q := tx.Model(&School{}).Order("id")
		if schoolIDs != nil {
			q = q.Where("id IN ?", schoolIDs)
		}
		if err := q.Pluck("id", &ids).Error; err != nil {
			return err
		}
		res.Schools = len(ids)
		return refreshRollups(ctx, tx, ids, res.Periods)
	})
	return res, err
}

// RollIndicatorPeriods keeps the stored periods in step with the calendar:
// the current term's range ends today, so after midnight (or when a term is
// added or moved) its rows describe another range and the dashboard would
// compute live. It rebuilds every period whose rows are missing or have
// another range, for every school, and returns those periods.
func RollIndicatorPeriods(ctx context.Context, db *gorm.DB, today string) ([]TermRef, error) {
	want, err := IndicatorPeriods(ctx, db, nil, today)
	if err != nil {
		return nil, err
	}
	var have []struct {
		Period, FromDate, ToDate string
		N                        int64
	}
	if err := db.WithContext(ctx).Model(&IndicatorRollup{}).Select("period, from_date, to_date, COUNT(*) AS n").
		Where("sources = ?", TrackedSignature()).Group("period, from_date, to_date").Scan(&have).Error; err != nil {
		return nil, err
	}
	var schools int64
	if err := db.WithContext(ctx).Model(&School{}).Count(&schools).Error; err != nil {
		return nil, err
	}
	var stale []TermRef
	for _, p := range want {
		ok := false
		for _, h := range have {
			if h.Period == p.Key && h.FromDate == p.From && h.ToDate == p.To && h.N == schools {
				ok = true
			}
		}
		if !ok {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		return nil, nil
	}
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		if err := lockIndicators(tx); err != nil {
			return err
		}
		var ids []int64
		if err := tx.Model(&School{}).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		return refreshRollups(ctx, tx, ids, stale)
	})
	return stale, err
}

// RunIndicatorRollups drains the outbox every interval and rolls the periods
// when the day changes, until ctx ends. Several replicas may run it: the
// advisory lock lets one work at a time. Errors are handed to logf.
func RunIndicatorRollups(ctx context.Context, db *gorm.DB, interval time.Duration, today func() string, logf func(msg string, err error)) {
	lastDay := ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if d := today(); d != lastDay {
			if _, err := RollIndicatorPeriods(ctx, db, d); err != nil {
				logf("indicator periods", err)
			} else {
				lastDay = d
			}
		}
		if _, err := DrainIndicatorOutbox(ctx, db); err != nil {
			logf("indicator outbox", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SchoolRollups reads the rows of schools for period p that cover exactly
// p's range under the current tracked sources; schools without such a row
// are listed in missing.
func SchoolRollups(ctx context.Context, db *gorm.DB, ids []int64, p TermRef) (rows map[int64]IndicatorRollup, missing []int64, err error) {
	rows = make(map[int64]IndicatorRollup, len(ids))
	sig := TrackedSignature()
	for i := 0; i < len(ids); i += 1000 {
		var got []IndicatorRollup
		if err := db.WithContext(ctx).Where("period = ? AND school_id IN ?", p.Key, ids[i:min(i+1000, len(ids))]).Find(&got).Error; err != nil {
			return nil, nil, err
		}
		for _, r := range got {
			if r.FromDate == p.From && r.ToDate == p.To && r.Sources == sig {
				rows[r.SchoolID] = r
			}
		}
	}
	for _, id := range ids {
		if _, ok := rows[id]; !ok {
			missing = append(missing, id)
		}
	}
	return rows, missing, nil
}

// RollupVersion is the highest version among the rows of schools for
// period key: a cache of a dashboard over those schools is current while it
// does not move. Zero when there are no rows.
func RollupVersion(ctx context.Context, db *gorm.DB, ids []int64, key string) (int64, error) {
	var v int64
	for i := 0; i < len(ids); i += 1000 {
		var m *int64
		if err := db.WithContext(ctx).Model(&IndicatorRollup{}).Select("MAX(version)").
			Where("period = ? AND school_id IN ?", key, ids[i:min(i+1000, len(ids))]).Scan(&m).Error; err != nil {
			return 0, err
		}
		if m != nil {
			v = max(v, *m)
		}
	}
	return v, nil
}

func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// trackedDefs lists the definitions of the tracked sources.
func trackedDefs() []IndicatorDef {
	var out []IndicatorDef
	for _, src := range IndicatorSources() {
		if !trackedSource(src) {
			continue
		}
		for _, d := range src.Defs {
			if d.Group == "" {
				d.Group = src.Group
			}
			out = append(out, d)
		}
	}
	return out
}

// DirtySchools lists the schools waiting in the outbox (a few at most: it
// is drained every IndicatorDrainInterval).
func DirtySchools(ctx context.Context, db *gorm.DB) (map[int64]bool, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&IndicatorOutboxEntry{}).Distinct("school_id").Limit(5000).Pluck("school_id", &ids).Error; err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// DashboardVersion names the state a region's dashboard over period was
// built from: its pre-summed row's version and the outbox's last entry. A
// cached dashboard is current while it does not change.
func DashboardVersion(ctx context.Context, db *gorm.DB, code, period string) (string, error) {
	var v struct {
		Version int64
		Outbox  int64
	}
	err := db.WithContext(ctx).Raw(`SELECT
		COALESCE((SELECT version FROM region_indicator_rollups WHERE region_code = ? AND period = ?), 0) AS version,
		COALESCE((SELECT MAX(id) FROM indicator_outbox), 0) AS outbox`, code, period).Scan(&v).Error
	return fmt.Sprintf("%d-%d", v.Version, v.Outbox), err
}
