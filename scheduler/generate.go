package scheduler

import (
	"fmt"
	"math/rand/v2"
)

// GenerateSchool builds a reproducible solver instance of a school with n
// programs, r rooms and k instructors (the benchmark's 80/30/40): service
// windows Mon–Fri 15:30–17:30, programs of 40–90 minutes once or twice a
// week for one to three neighbouring grades, rooms of five types, and
// instructors with some unavailable afternoons and a 6-hour weekly maximum.
func GenerateSchool(seed uint64, n, r, k int) Problem {
	rnd := rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))
	p := Problem{Step: 10}
	for d := 1; d <= 5; d++ {
		p.Windows = append(p.Windows, Window{Weekday: d, Start: 15*60 + 30, End: 17*60 + 30})
	}
	// Room types in proportion: half classrooms, then gym, lab, art, music.
	types := []string{"classroom", "classroom", "classroom", "classroom", "classroom", "gym", "gym", "lab", "art", "music"}
	for i := 0; i < r; i++ {
		p.Rooms = append(p.Rooms, Room{ID: fmt.Sprintf("R%02d", i+1), Type: types[i%len(types)]})
	}
	for i := 0; i < k; i++ {
		in := Instructor{ID: fmt.Sprintf("T%02d", i+1), MaxWeeklyMinutes: 6 * 60}
		if rnd.IntN(2) == 0 {
			in.Unavailable = append(in.Unavailable, Window{Weekday: 1 + rnd.IntN(5), Start: 15*60 + 30, End: 17*60 + 30})
		}
		if rnd.IntN(3) == 0 {
			s := 15*60 + 30 + 10*rnd.IntN(7)
			in.Unavailable = append(in.Unavailable, Window{Weekday: 1 + rnd.IntN(5), Start: s, End: s + 50})
		}
		p.Instructors = append(p.Instructors, in)
	}
	durations := []int{40, 60, 60, 80, 90}
	for i := 0; i < n; i++ {
		g := 1 + rnd.IntN(9)
		grades := []int{g}
		for j := 1; j < 1+rnd.IntN(3) && g+j <= 9; j++ {
			grades = append(grades, g+j)
		}
		p.Programs = append(p.Programs, Task{ID: int64(i + 1), Name: fmt.Sprintf("P%02d", i+1), SlotsPerWeek: 1 + rnd.IntN(2),
			Duration: durations[rnd.IntN(len(durations))], Grades: grades, Instructor: fmt.Sprintf("T%02d", i%k+1),
			RoomType: types[rnd.IntN(len(types))]})
	}
	return p
}
