package models

import (
	"context"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// PartitionedTables are the tables partitioned by school year on
// PostgreSQL (migration 00031): the two that grow with every school day.
var PartitionedTables = []string{"homework_items", "class_day_loads"}

// SchoolYearOf is the year whose 1 August begins the school year of date
// (YYYY-MM-DD): 2026 for 2026-09-01 and for 2027-07-10.
func SchoolYearOf(date string) (int, error) {
	t, err := time.Parse(DateLayout, date)
	if err != nil {
		return 0, Invalid("error.bad_date", map[string]any{"Value": date})
	}
	if t.Month() < time.August {
		return t.Year() - 1, nil
	}
	return t.Year(), nil
}

// EnsureSchoolYearPartitions creates, on PostgreSQL, the partitions of the
// school year of today and of the next one for every partitioned table,
// moving rows of those years out of the default partition first; it returns
// the partitions it created. SQLite has no partitions: nothing to do.
// Archiving an old year: `ALTER TABLE homework_items DETACH PARTITION
// homework_items_2024_2025`, then dump and drop that table (README).
func EnsureSchoolYearPartitions(ctx context.Context, db *gorm.DB, today string) ([]string, error) {
	if DialectOf(db) != Postgres {
		return nil, nil
	}
	y, err := SchoolYearOf(today)
	if err != nil {
		return nil, err
	}
	var made []string
	for _, t := range PartitionedTables {
		for _, year := range []int{y, y + 1} {
			var name *string
			if err := db.WithContext(ctx).Raw("SELECT jianfu_school_year_partition(?, ?)", t, year).Scan(&name).Error; err != nil {
				return made, err
			}
			if name != nil {
				made = append(made, *name)
			}
		}
	}
	return made, nil
}

// PartitionName is the partition of table holding the school year that
// begins on 1 August of year.
func PartitionName(table string, year int) string {
	return table + "_" + strconv.Itoa(year) + "_" + strconv.Itoa(year+1)
}
