package scheduler

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

func TestSolveGeneratedSchool(t *testing.T) {
	p := GenerateSchool(1, 80, 30, 40)
	sol := Solve(p)
	if v := Check(p, sol); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
	if len(sol.Unplaced) > 0 {
		t.Errorf("unplaced: %v", sol.Unplaced)
	}
	if again := Solve(p); !reflect.DeepEqual(sol, again) {
		t.Error("not deterministic")
	}
	// Each grade's options spread: no weekday holds more than half a grade's slots
	// when the grade has at least 6.
	perGrade := map[int]map[int]int{}
	total := map[int]int{}
	task := map[int64]Task{}
	for _, tk := range p.Programs {
		task[tk.ID] = tk
	}
	for _, pl := range sol.Placements {
		for _, g := range task[pl.ProgramID].Grades {
			if perGrade[g] == nil {
				perGrade[g] = map[int]int{}
			}
			perGrade[g][pl.Weekday]++
			total[g]++
		}
	}
	for g, days := range perGrade {
		for d, n := range days {
			if total[g] >= 6 && n*2 > total[g] {
				t.Errorf("grade %d: %d of %d slots on day %d", g, n, total[g], d)
			}
		}
	}
}

func TestSolveReasons(t *testing.T) {
	win := []Window{{1, 930, 1050}, {2, 930, 1050}}
	p := Problem{Windows: win, Step: 10,
		Rooms:       []Room{{ID: "R1", Type: "gym"}},
		Instructors: []Instructor{{ID: "A", Unavailable: []Window{{1, 930, 1050}, {2, 930, 1050}}}, {ID: "B", MaxWeeklyMinutes: 60}, {ID: "C"}, {ID: "D"}},
		Programs: []Task{
			{ID: 1, SlotsPerWeek: 1, Duration: 60, Instructor: "A", RoomType: "gym"},
			{ID: 2, SlotsPerWeek: 2, Duration: 60, Instructor: "B", RoomType: "gym"},
			{ID: 3, SlotsPerWeek: 1, Duration: 60, Instructor: "C", RoomType: "pool"},
			{ID: 4, SlotsPerWeek: 1, Duration: 150, Instructor: "C", RoomType: "gym"},
			{ID: 5, SlotsPerWeek: 3, Duration: 60, Instructor: "C", RoomType: "gym"},
			{ID: 6, SlotsPerWeek: 2, Duration: 120, Instructor: "C", RoomType: "gym"},
			{ID: 7, SlotsPerWeek: 1, Duration: 60, Instructor: "D", RoomType: "gym"},
		}}
	sol := Solve(p)
	want := map[int64]string{1: ReasonInstructorAway, 2: ReasonInstructorHours, 3: ReasonNoRoomOfType, 4: ReasonWindowTooShort, 5: ReasonNotEnoughDays, 7: ReasonNoFreeRoom}
	got := map[int64]string{}
	for _, u := range sol.Unplaced {
		got[u.ProgramID] = u.Reason
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mismatch (-want +got):\n%v\n%v", want, got)
	}
	if v := Check(p, sol); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestCheckFindsClashes(t *testing.T) {
	p := Problem{Windows: []Window{{1, 930, 1050}}, Rooms: []Room{{ID: "R1", Type: "gym"}}, Instructors: []Instructor{{ID: "A"}},
		Programs: []Task{{ID: 1, SlotsPerWeek: 1, Duration: 60, Instructor: "A", RoomType: "gym"}, {ID: 2, SlotsPerWeek: 1, Duration: 60, Instructor: "A", RoomType: "gym"}}}
	sol := Solution{Placements: []Placement{{1, 1, 930, 990, "R1"}, {2, 1, 960, 1020, "R1"}}}
	v := Check(p, sol)
	if len(v) != 2 || !strings.Contains(strings.Join(v, ";"), "room R1") || !strings.Contains(strings.Join(v, ";"), "instructor A") {
		t.Errorf("violations: %v", v)
	}
	sol.Placements[1] = Placement{2, 1, 1000, 1060, "R1"}
	if v := Check(p, sol); len(v) != 1 || !strings.Contains(v[0], "outside") {
		t.Errorf("violations: %v", v)
	}
}

func TestWriteFETRoundTrip(t *testing.T) {
	p := GenerateSchool(3, 10, 5, 6)
	var buf bytes.Buffer
	if err := WriteFET(&buf, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Activities []struct{ Id int } `xml:"Activities_List>Activity"`
		Hours      int                `xml:"Hours_List>Number_of_Hours"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Activities) != len(FETActivityIDs(p)) || doc.Hours != 12 {
		t.Errorf("activities %d, hours %d", len(doc.Activities), doc.Hours)
	}
	// Our own solution written as FET's activities file reads back the same.
	sol := Solve(p)
	var act bytes.Buffer
	act.WriteString("<Activities_Timetable>")
	next := map[int64]int{}
	ids := FETActivityIDs(p)
	for _, pl := range sol.Placements {
		for id := 1; id <= len(ids); id++ {
			if ids[id] == pl.ProgramID && next[pl.ProgramID] < id {
				next[pl.ProgramID] = id
				act.WriteString("<Activity><Id>" + itoa(id) + "</Id><Day>" + fetDayNames[pl.Weekday] + "</Day><Hour>" + hhmm(pl.Start) + "</Hour><Room>" + pl.Room + "</Room></Activity>")
				break
			}
		}
	}
	act.WriteString("</Activities_Timetable>")
	back, err := ReadFETActivities(&act, p)
	if err != nil {
		t.Fatal(err)
	}
	if v := Check(p, back); len(v) > 0 || len(back.Placements) != len(sol.Placements) {
		t.Errorf("read back: %d placements, violations %v", len(back.Placements), v)
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func hhmm(m int) string {
	return string([]byte{byte('0' + m/600), byte('0' + m/60%10), ':', byte('0' + m%60/10), byte('0' + m%10)})
}

// BenchmarkSolver solves the generated school of 80 programs, 30 rooms and
// 40 instructors (compare with FET: go run ./scheduler/cmd/fetexport).
func BenchmarkSolver(b *testing.B) {
	p := GenerateSchool(1, 80, 30, 40)
	b.ReportAllocs()
	for b.Loop() {
		Solve(p)
	}
}
