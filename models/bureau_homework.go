package models

import (
	"context"

	"gorm.io/gorm"
)

// IndMaxClassOverCapDays is the most days any one class of the school was
// over its homework cap within the range (HW-02/03: the bureau's alert "a
// class over cap on N days in a week" reads it over a week). It comes from
// the homework area's class_day_loads rollup, by the columns that area
// documents; the homework area's own source does not give a per-class count.
// Saves over the cap are refused, so this is 0 unless a cap was tightened
// after homework was set; the alert reads the reported evening instead.
const IndMaxClassOverCapDays = "hw.max_class_over_cap_days"

// IndMaxClassReportedOverDays is the most days any one class's reported
// evening (guardians' minutes ÷ reporting students) was over its limit —
// the all-kinds budget, else the cap (HW-02/03, HW-15). The HW-02/03 alert
// reads it over a week: a class reported over on 2+ days.
const IndMaxClassReportedOverDays = "hw.max_class_reported_over_days"

func init() {
	RegisterIndicators(IndicatorSource{
		Group: "homework",
		Defs: []IndicatorDef{
			{Key: IndMaxClassOverCapDays, Group: "homework", MsgID: "ind.hw.max_class_over_cap_days", Unit: "days", Agg: AggMax, Rule: "HW-02/03"},
			{Key: IndMaxClassReportedOverDays, Group: "homework", MsgID: "ind.hw.max_class_reported_over_days", Unit: "days", Agg: AggMax, Rule: "HW-02/03"},
		},
		Compute: maxClassOverDays,
	})
}

func maxClassOverDays(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	out := map[int64]map[string]float64{}
	if len(schoolIDs) == 0 || !db.Migrator().HasTable("class_day_loads") {
		return out, nil
	}
	for _, q := range []struct{ key, where string }{
		{IndMaxClassOverCapDays, "total_minutes > cap_minutes"},
		{IndMaxClassReportedOverDays, reportedOverSQL},
	} {
		var rows []struct {
			SchoolID int64
			N        int64
		}
		// Only the over class-days: a school with homework but none over
		// gets 0 below; a school without homework has no value.
		per := db.WithContext(ctx).Table("class_day_loads").Select("school_id, class_id, COUNT(*) AS n").
			Where("school_id IN ? AND date BETWEEN ? AND ? AND item_count > 0 AND "+q.where, schoolIDs, from, to).
			Group("school_id, class_id")
		if err := db.WithContext(ctx).Table("(?) AS per_class", per).Select("school_id, MAX(n) AS n").Group("school_id").Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			if out[r.SchoolID] == nil {
				out[r.SchoolID] = map[string]float64{}
			}
			out[r.SchoolID][q.key] = float64(r.N)
		}
	}
	var active []int64
	if err := db.WithContext(ctx).Table("class_day_loads").Where("school_id IN ? AND date BETWEEN ? AND ? AND item_count > 0", schoolIDs, from, to).
		Distinct("school_id").Pluck("school_id", &active).Error; err != nil {
		return nil, err
	}
	for _, id := range active {
		if out[id] == nil {
			out[id] = map[string]float64{}
		}
		for _, k := range []string{IndMaxClassOverCapDays, IndMaxClassReportedOverDays} {
			if _, ok := out[id][k]; !ok {
				out[id][k] = 0
			}
		}
	}
	return out, nil
}
