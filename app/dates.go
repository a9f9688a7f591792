package app

import (
	"time"

	"jianfu/models"
)

// shiftDate moves a YYYY-MM-DD date by days; a malformed date comes back as is.
func ShiftDate(date string, days int) string {
	d, err := time.Parse(models.DateLayout, date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, days).Format(models.DateLayout)
}
