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
const IndMaxClassOverCapDays = "hw.max_class_over_cap_days"

func init() {
	RegisterIndicators(IndicatorSource{
		Group: "homework",
		Defs: []IndicatorDef{
			{Key: IndMaxClassOverCapDays, Group: "homework", MsgID: "ind.hw.max_class_over_cap_days", Unit: "days"},
		},
		Tables:  []string{"class_day_loads"},
		Compute: maxClassOverCapDays,
	})
}

func maxClassOverCapDays(ctx context.Context, db *gorm.DB, schoolIDs []int64, from, to string) (map[int64]map[string]float64, error) {
	out := map[int64]map[string]float64{}
	if len(schoolIDs) == 0 || !db.Migrator().HasTable("class_day_loads") {
		return out, nil
	}
	var rows []struct {
		SchoolID int64
		N        int64
	}
	// Only the over-cap class-days: a school without any has no value, which
	// the result fills with 0 below.
	per := db.WithContext(ctx).Table("class_day_loads").Select("school_id, class_id, COUNT(*) AS n").
		Where("school_id IN ? AND date BETWEEN ? AND ? AND item_count > 0 AND total_minutes > cap_minutes", schoolIDs, from, to).
		Group("school_id, class_id")
	if err := db.WithContext(ctx).Table("(?) AS per_class", per).Select("school_id, MAX(n) AS n").Group("school_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, id := range schoolIDs {
		out[id] = map[string]float64{IndMaxClassOverCapDays: 0}
	}
	for _, r := range rows {
		out[r.SchoolID][IndMaxClassOverCapDays] = float64(r.N)
	}
	return out, nil
}
