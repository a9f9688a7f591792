package scheduler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fetExamples is where Debian's fet-data puts FET's own example files
// (.ci/run installs it).
const fetExamples = "/usr/share/doc/fet-data/examples/"

func openExample(t *testing.T, rel string) *FETFile {
	t.Helper()
	path := fetExamples + rel
	r, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not installed (apt-get install fet-data)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	f, err := ReadFET(r)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return f
}

func unsupported(f *FETFile) map[string]int {
	m := map[string]int{}
	for _, u := range f.Unsupported {
		m[u.Name] = u.Count
	}
	return m
}

// TestReadFETExamples reads varied real FET files (FET 5.27 to 6.0, five
// countries, hour names such as "Tiết 1", "Pati" and "9.30 - 11.00", years
// with groups and subgroups, activities with several teachers and students
// sets) and checks what came out against the files' own counts.
func TestReadFETExamples(t *testing.T) {
	cases := []struct {
		file                         string
		days, hours, acts, teachers  int
		firstHour                    string
		wantUnsupported              map[string]int
		multiTeacher, multiStudents  bool
		notAvailTeachers, minDays    int
		prefRooms, starts, breakSlot int
	}{
		{file: "FET-5-official/Spain/1-school/school.fet", days: 5, hours: 9, acts: 439, teachers: 66, firstHour: "1",
			wantUnsupported: map[string]int{"ConstraintTeacherMaxDaysPerWeek": 6, "ConstraintStudentsSetHomeRoom": 20, "ConstraintMinDaysBetweenActivities (weight under 100%)": 104},
			multiTeacher:    true, multiStudents: true, notAvailTeachers: 54, minDays: 195 - 104},
		{file: "FET-5-official/United-Kingdom/Hopwood/Hopwood.fet", days: 6, hours: 5, acts: 163, teachers: 26,
			wantUnsupported: map[string]int{}, prefRooms: 162, starts: 162},
		{file: "FET-5-official/Vietnam/2-secondary-school/VietNamHungYen.fet", days: 6, hours: 5, firstHour: "Tiết 1",
			wantUnsupported: map[string]int{"ConstraintActivitiesSameStartingDay": 69, "ConstraintTeacherMaxDaysPerWeek": 14}},
		{file: "FET-5-official/Greece/Didymoteicho/6th-Primary-School.fet", firstHour: "",
			wantUnsupported: map[string]int{"ConstraintTeacherHomeRoom": 17, "ConstraintActivitiesEndStudentsDay": 1}},
		{file: "FET-6-official/South-Africa/Western-Cape/Robertson/MHS_July2.fet", days: 10,
			wantUnsupported: map[string]int{"ConstraintTeacherHomeRoom": 20, "ConstraintTeacherMaxGapsPerDay": 1}},
		{file: "FET-5-mornings-afternoons/Algeria/1/sample_algeria.fet",
			wantUnsupported: map[string]int{"mode Mornings_Afternoons": 1}},
		{file: "FET-6-mornings-afternoons/Algeria/1/sample_algeria.fet",
			wantUnsupported: map[string]int{"mode Mornings_Afternoons": 1}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			f := openExample(t, c.file)
			raw, _ := os.ReadFile(fetExamples + c.file)
			// The file's own counts: activities, and each constraint kind.
			if n := strings.Count(string(raw), "<Activity>"); len(f.Activities) != n {
				t.Errorf("activities %d, file has %d", len(f.Activities), n)
			}
			if c.acts > 0 && len(f.Activities) != c.acts {
				t.Errorf("activities %d, want %d", len(f.Activities), c.acts)
			}
			if c.days > 0 && len(f.Days) != c.days || c.hours > 0 && len(f.Hours) != c.hours || c.teachers > 0 && len(f.Teachers) != c.teachers {
				t.Errorf("days %d hours %d teachers %d", len(f.Days), len(f.Hours), len(f.Teachers))
			}
			if c.firstHour != "" && f.Hours[0] != c.firstHour {
				t.Errorf("first hour %q, want %q", f.Hours[0], c.firstHour)
			}
			got := unsupported(f)
			for name, n := range c.wantUnsupported {
				if got[name] != n {
					t.Errorf("unsupported %s: %d, want %d (all: %v)", name, got[name], n, got)
				}
			}
			// Every constraint of the file is honoured, counted as unsupported
			// or inactive: none is lost.
			total := f.Inactive
			for name, n := range got {
				if strings.HasPrefix(name, "Constraint") {
					total += n
				}
			}
			for _, n := range f.Honoured {
				total += n
			}
			if n := strings.Count(string(raw), "<Constraint"); total != n {
				t.Errorf("%d constraints accounted for, file has %d", total, n)
			}
			if c.multiTeacher && !slices.ContainsFunc(f.Activities, func(a FETActivity) bool { return len(a.Teachers) > 1 }) {
				t.Error("no activity with several teachers")
			}
			if c.multiStudents && !slices.ContainsFunc(f.Activities, func(a FETActivity) bool { return len(a.Students) > 1 }) {
				t.Error("no activity with several students sets")
			}
			if c.notAvailTeachers > 0 && len(f.TeacherNotAvailable) != c.notAvailTeachers {
				t.Errorf("teachers with not-available times %d, want %d", len(f.TeacherNotAvailable), c.notAvailTeachers)
			}
			if c.minDays > 0 && len(f.MinDays) != c.minDays {
				t.Errorf("min-days rules %d, want %d", len(f.MinDays), c.minDays)
			}
			if c.prefRooms > 0 && len(f.PreferredRooms) != c.prefRooms {
				t.Errorf("activities with preferred rooms %d, want %d", len(f.PreferredRooms), c.prefRooms)
			}
			if c.starts > 0 && len(f.StartingTimes) != c.starts {
				t.Errorf("activities with fixed starts %d, want %d", len(f.StartingTimes), c.starts)
			}
			// Our solution of what we read breaks no hard constraint we honour.
			p := f.Problem()
			if v := Check(p, Solve(p)); len(v) > 0 {
				t.Errorf("%d violations, first %s", len(v), v[0])
			}
		})
	}
}

// activitiesXML writes a fet-cl activities file placing activity ids at
// (day name, hour name).
func activitiesXML(places ...[3]string) *bytes.Buffer {
	var b bytes.Buffer
	b.WriteString("\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Activities_Timetable>\n")
	for _, p := range places {
		fmt.Fprintf(&b, "<Activity>\n\t<Id>%s</Id>\n\t<Day>%s</Day>\n\t<Hour>%s</Hour>\n\t<Room></Room>\n</Activity>\n", p[0], p[1], p[2])
	}
	b.WriteString("</Activities_Timetable>\n")
	return &b
}

// TestReadFETSolutionHourNames reads fet-cl output that names hours as the
// input file does ("Tiết 4", "1st"): the old reader failed on them or put
// every activity on day −1. An unknown day or hour is an error.
func TestReadFETSolutionHourNames(t *testing.T) {
	f := openExample(t, "FET-5-official/Vietnam/2-secondary-school/VietNamHungYen.fet")
	id := fmt.Sprint(f.Activities[0].ID)
	sol, err := ReadFETSolution(activitiesXML([3]string{id, f.Days[2], "Tiết 4"}), f)
	if err != nil {
		t.Fatal(err)
	}
	start, step := f.FETGrid()
	if len(sol.Placements) != 1 || sol.Placements[0].Weekday != 3 || sol.Placements[0].Start != start+3*step {
		t.Fatalf("placements %+v", sol.Placements)
	}
	if len(sol.Unplaced) != len(f.Problem().Programs)-1 {
		t.Errorf("unplaced %d", len(sol.Unplaced))
	}
	for _, bad := range [][3]string{{id, "Someday", "Tiết 4"}, {id, f.Days[0], "Tiết 9"}, {"999999", f.Days[0], "Tiết 1"}} {
		if _, err := ReadFETSolution(activitiesXML(bad), f); !errors.Is(err, ErrFETFormat) {
			t.Errorf("%v: err %v, want ErrFETFormat", bad, err)
		}
	}

	// "1st", "2nd": ordinal hour names (Sudan's file has them).
	s := openExample(t, "FET-5-official/Sudan/Khartoum-2010-02-13.fet")
	h := s.HourIndex("2nd")
	if h != 1 {
		t.Fatalf("hour 2nd at %d (hours %v)", h, s.Hours)
	}
	sol, err = ReadFETSolution(activitiesXML([3]string{fmt.Sprint(s.Activities[0].ID), s.Days[0], "2nd"}), s)
	if err != nil {
		t.Fatal(err)
	}
	if pl := sol.Placements[0]; pl.Weekday != 1 {
		t.Errorf("placement %+v", pl)
	}
}

// TestStudentSetsClash: two activities of one class with different
// teachers and no rooms, one hour to share. The old solver had no students
// constraint and put both there; the old checker saw nothing.
func TestStudentSetsClash(t *testing.T) {
	p := Problem{Step: 45, Windows: []Window{{1, 480, 525}, {2, 480, 525}},
		Instructors: []Instructor{{ID: "A"}, {ID: "B"}, {ID: "C"}},
		StudentSets: []StudentSet{{ID: "Y1", Members: []string{"1a", "1b"}}, {ID: "1a"}, {ID: "1b"}, {ID: "Y2"}},
		Programs: []Task{
			{ID: 1, SlotsPerWeek: 1, Duration: 45, Instructor: "A", Students: []string{"Y1"}, NoRoom: true, Starts: []Window{{Weekday: 1, Start: 480}}},
			{ID: 2, SlotsPerWeek: 1, Duration: 45, Instructor: "B", Students: []string{"1b"}, NoRoom: true, Starts: []Window{{Weekday: 1, Start: 480}}},
			{ID: 3, SlotsPerWeek: 1, Duration: 45, Instructor: "C", Students: []string{"Y2"}, NoRoom: true},
		}}
	sol := Solve(p)
	if len(sol.Unplaced) != 1 || sol.Unplaced[0].Reason != ReasonStudentsBusy {
		t.Errorf("unplaced %+v, want one %s", sol.Unplaced, ReasonStudentsBusy)
	}
	if v := Check(p, sol); len(v) > 0 {
		t.Errorf("violations %v", v)
	}
	both := Solution{Placements: []Placement{{1, 1, 480, 525, ""}, {2, 1, 480, 525, ""}, {3, 1, 480, 525, ""}}}
	v := Check(p, both)
	if len(v) != 1 || !strings.Contains(v[0], "students 1b: programs 1 and 2 clash") {
		t.Errorf("violations %v, want the one students clash", v)
	}
	// Students not available and a co-teacher's clash count too.
	p.StudentSets[3].Unavailable = []Window{{1, 480, 525}}
	p.Programs[2].CoInstructors = []string{"A"}
	v = Check(p, both)
	if !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, "students Y2 unavailable") }) ||
		!slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, "instructor A: programs 1 and 3") }) {
		t.Errorf("violations %v", v)
	}
}

// TestFETClInputFromOurWriter writes a real example back as we read it and
// lets fet-cl solve it: fet-cl accepts the file, and its timetable, read
// back, places every activity with no violation of what we honour.
func TestFETClInputFromOurWriter(t *testing.T) {
	if _, err := exec.LookPath("fet-cl"); err != nil {
		t.Skip("fet-cl not installed (apt-get install fet)")
	}
	f := openExample(t, "FET-5-official/United-Kingdom/Hopwood/Hopwood.fet")
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	// Our own reader reads our output back to the same problem.
	again, err := ReadFET(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Activities) != len(f.Activities) || len(again.StartingTimes) != len(f.StartingTimes) || len(again.Unsupported) != 0 {
		t.Fatalf("read back: %d activities, %d starts, unsupported %v", len(again.Activities), len(again.StartingTimes), again.Unsupported)
	}
	in := filepath.Join(dir, "hopwood.fet")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("fet-cl", "--inputfile="+in, "--outputdir="+dir+"/out", "--timelimitseconds=20").CombinedOutput()
	if err != nil {
		t.Fatalf("fet-cl: %v\n%s", err, out)
	}
	act, err := os.Open(filepath.Join(dir, "out/timetables/hopwood/hopwood_activities.xml"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	defer act.Close()
	sol, err := ReadFETSolution(act, f)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Problem()
	if len(sol.Unplaced) != 0 || len(sol.Placements) != len(p.Programs) {
		t.Errorf("fet-cl placed %d of %d", len(sol.Placements), len(p.Programs))
	}
	if v := Check(p, sol); len(v) > 0 {
		t.Errorf("fet-cl's timetable: %v", v)
	}
}

// TestRepairMovesOneProgram: the greedy pass takes A first (fewer free
// positions than C, whose three rooms count as three) and puts it at the
// earliest hour, the only one C may use; the repair moves A to the second
// hour and places C.
func TestRepairMovesOneProgram(t *testing.T) {
	p := Problem{Step: 45, Windows: []Window{{1, 480, 570}},
		Rooms:       []Room{{ID: "R1"}, {ID: "R2"}, {ID: "R3"}},
		StudentSets: []StudentSet{{ID: "S"}},
		Programs: []Task{
			{ID: 1, Name: "A", SlotsPerWeek: 1, Duration: 45, Students: []string{"S"}, NoRoom: true},
			{ID: 2, Name: "C", SlotsPerWeek: 1, Duration: 45, Students: []string{"S"}, Rooms: []string{"R1", "R2", "R3"}, Starts: []Window{{Weekday: 1, Start: 480}}},
		}}
	sol := Solve(p)
	if len(sol.Unplaced) != 0 || len(sol.Placements) != 2 {
		t.Fatalf("unplaced %+v placements %+v", sol.Unplaced, sol.Placements)
	}
	if v := Check(p, sol); len(v) > 0 {
		t.Fatalf("violations %v", v)
	}
	if sol.Placements[0].Start != 525 || sol.Placements[1].Start != 480 {
		t.Errorf("placements %+v", sol.Placements)
	}
}

// TestReadFETRefusesWhatIsNotAnInput: the old reader returned nothing and
// no error for real inputs; now anything it cannot read is an error.
func TestReadFETRefusesWhatIsNotAnInput(t *testing.T) {
	for name, doc := range map[string]string{
		"fet-cl output":     `<?xml version="1.0"?><Activities_Timetable><Activity><Id>1</Id><Day>Mon</Day><Hour>1</Hour></Activity></Activities_Timetable>`,
		"no activities":     `<fet version="6.8.5"><Days_List><Day><Name>Mon</Name></Day></Days_List><Hours_List><Hour><Name>1</Name></Hour></Hours_List></fet>`,
		"no hours":          `<fet version="6.8.5"><Days_List><Day><Name>Mon</Name></Day></Days_List></fet>`,
		"unknown teacher":   `<fet><Days_List><Day><Name>Mon</Name></Day></Days_List><Hours_List><Hour><Name>1</Name></Hour></Hours_List><Activities_List><Activity><Teacher>X</Teacher><Duration>1</Duration><Id>1</Id></Activity></Activities_List></fet>`,
		"unknown day":       `<fet><Days_List><Day><Name>Mon</Name></Day></Days_List><Hours_List><Hour><Name>1</Name></Hour></Hours_List><Teachers_List><Teacher><Name>X</Name></Teacher></Teachers_List><Activities_List><Activity><Teacher>X</Teacher><Duration>1</Duration><Id>1</Id></Activity></Activities_List><Time_Constraints_List><ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>X</Teacher><Not_Available_Time><Day>Tue</Day><Hour>1</Hour></Not_Available_Time></ConstraintTeacherNotAvailableTimes></Time_Constraints_List></fet>`,
		"duration too long": `<fet><Days_List><Day><Name>Mon</Name></Day></Days_List><Hours_List><Hour><Name>1</Name></Hour></Hours_List><Activities_List><Activity><Duration>2</Duration><Id>1</Id></Activity></Activities_List></fet>`,
		"not XML":           `Id,Day,Hour`,
	} {
		if f, err := ReadFET(strings.NewReader(doc)); !errors.Is(err, ErrFETFormat) {
			t.Errorf("%s: %v, %v; want ErrFETFormat", name, f, err)
		}
	}
}

// TestStudentsSetsOnARealFile (finding 8): solved without its students
// sets, as the old solver did, a real school's file double-books students,
// and Check now counts it; solved with them, there is no clash.
func TestStudentsSetsOnARealFile(t *testing.T) {
	f := openExample(t, "FET-5-official/Spain/1-school/school.fet")
	p := f.Problem()
	blind := p
	blind.Programs = slices.Clone(p.Programs)
	for i := range blind.Programs {
		blind.Programs[i].Students = nil
	}
	clashes := 0
	for _, v := range Check(p, Solve(blind)) {
		if strings.HasPrefix(v, "students ") && strings.Contains(v, " clash ") {
			clashes++
		}
	}
	if clashes < 10 {
		t.Fatalf("the students-blind timetable has %d students clashes; expected many", clashes)
	}
	if v := Check(p, Solve(p)); len(v) > 0 {
		t.Errorf("with students sets: %d violations, first %s", len(v), v[0])
	}
	t.Logf("students-blind solution: %d students clashes", clashes)
}
