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
	per := db.WithContext(ctx).Table("class_day_loads").
		Select("school_id, class_id, SUM(CASE WHEN item_count > 0 AND total_minutes > cap_minutes THEN 1 ELSE 0 END) AS n").
		Where("school_id IN ? AND date BETWEEN ? AND ?", schoolIDs, from, to).Group("school_id, class_id")
	if err := db.WithContext(ctx).Table("(?) AS per_class", per).Select("school_id, MAX(n) AS n").Group("school_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SchoolID] = map[string]float64{IndMaxClassOverCapDays: float64(r.N)}
	}
	return out, nil
}
