package scheduler

import (
	"bytes"
	"testing"
)

// FuzzReadFETActivities: fet-cl's output is read from outside the process.
// Whatever the bytes, reading never panics, and a solution it accepts has
// every placement on a weekday 1–7 inside the day, which Check can judge.
func FuzzReadFETActivities(f *testing.F) {
	p := GenerateSchool(2, 6, 3, 4)
	f.Add([]byte(`<Activities_Timetable><Activity><Id>1</Id><Day>Mon</Day><Hour>15:30</Hour><Room>R1</Room></Activity></Activities_Timetable>`))
	f.Add([]byte(`<Activities_Timetable><Activity><Id>1</Id><Day>Sun</Day><Hour>3</Hour></Activity></Activities_Timetable>`))
	f.Add([]byte(`<Activities_Timetable><Activity><Id>2</Id><Day>Xyz</Day><Hour>-5</Hour></Activity></Activities_Timetable>`))
	f.Add([]byte(`<Activities_Timetable><Activity><Id>1</Id><Day>Mon</Day><Hour>99:99</Hour></Activity></Activities_Timetable>`))
	f.Add([]byte(`<Activities_Timetable><Activity><Id>1</Id><Day>Tue</Day><Hour>9223372036854775807</Hour></Activity>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sol, err := ReadFETActivities(bytes.NewReader(data), p)
		if err != nil {
			return
		}
		for _, pl := range sol.Placements {
			if pl.Weekday < 1 || pl.Weekday > 7 || pl.Start < 0 || pl.Start >= 24*60 {
				t.Fatalf("accepted placement %+v", pl)
			}
		}
		Check(p, sol)
	})
}
