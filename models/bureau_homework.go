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
// Saves over the cap are refused, so the counted total is never over the
// cap stored with it: this value is 0 by construction and is no longer
// registered (issue 9); the HW-02/03 alert reads the reported evening
// (IndMaxClassReportedOverDays) instead. The key stays for old snapshots.
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
			{Key: IndMaxClassReportedOverDays, Group: "homework", MsgID: "ind.hw.max_class_reported_over_days", Unit: "days", Agg: AggMax, Rule: "HW-02/03"},
		},
		Tables:  []string{"class_day_loads"},
		Compute: maxClassReportedOverDays,
	})
}

func maxClassReportedOverDays(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	out := map[int64]map[string]float64{}
	if len(schoolIDs) == 0 || !db.Migrator().HasTable("class_day_loads") {
		return out, nil
	}
	var rows []struct {
		SchoolID int64
		Reports  int64
	}
	// One pass: per class, its days reported over the limit; per school,
	// the most. A school with homework but no such day gets 0; one without
	// homework has no value.
	per := db.WithContext(ctx).Table("class_day_loads").Select(`school_id, class_id,
		SUM(CASE WHEN `+reportedOverSQL+` THEN 1 ELSE 0 END) AS reports`).
		Where("school_id IN ? AND date BETWEEN ? AND ? AND item_count > 0", schoolIDs, from, to).
		Group("school_id, class_id")
	if err := db.WithContext(ctx).Table("(?) AS per_class", per).Select("school_id, MAX(reports) AS reports").
		Group("school_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SchoolID] = map[string]float64{IndMaxClassReportedOverDays: float64(r.Reports)}
	}
	return out, nil
}
