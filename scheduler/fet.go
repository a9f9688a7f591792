package scheduler

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// FET (https://lalescu.ro/liviu/fet/, Debian package fet, command fet-cl)
// is a free timetabling program. Two ways in and out:
//   - a school's own FET file: ReadFET (fetfile.go) reads it, FETFile.Problem
//     makes it a solver instance, FETFile.Write writes it back for fet-cl, and
//     ReadFETSolution reads fet-cl's timetable by the file's own day and hour
//     names;
//   - an after-school Problem: WriteFET writes it as a .fet file so its
//     solution can be compared with ours; ReadFETActivities reads fet-cl's
//     activities file back as a Solution. One FET "hour" is one Step of
//     minutes; every program becomes a FET activity group (one activity per
//     weekly slot) with its instructor as teacher, the rooms of its type as
//     preferred rooms, and min 1 day between its activities. After-school
//     problems have no students sets (options of one grade run in parallel).

var fetDayNames = []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

type fetGrid struct {
	start, step, hours int
	days               []int
}

func gridOf(p Problem) fetGrid {
	g := fetGrid{start: 24 * 60, step: p.Step}
	if g.step <= 0 {
		g.step = 10
	}
	end := 0
	for _, w := range p.Windows {
		g.start = min(g.start, w.Start)
		end = max(end, w.End)
		if !slices.Contains(g.days, w.Weekday) {
			g.days = append(g.days, w.Weekday)
		}
	}
	slices.Sort(g.days)
	g.hours = (end - g.start) / g.step
	return g
}

func (g fetGrid) hourName(i int) string {
	m := g.start + i*g.step
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

type xNotAvail struct {
	Day  string
	Hour string
}

// FETActivityIDs maps FET activity ids to program ids (as WriteFET numbers them).
func FETActivityIDs(p Problem) map[int]int64 {
	out := map[int]int64{}
	id := 1
	for _, t := range p.Programs {
		for k := 0; k < t.SlotsPerWeek; k++ {
			out[id] = t.ID
			id++
		}
	}
	return out
}

// FETFromProblem turns an after-school Problem into a FET file the way
// WriteFET writes it: hours of Step minutes from the earliest window start
// (named "15:30"), periods outside a day's window as break times, one
// subject and one activity per weekly slot of each program (ids as
// FETActivityIDs), its instructor as teacher, its grades' students sets
// when the problem has them, the rooms of its type as preferred rooms, and
// min 1 day between the slots of one program.
func FETFromProblem(p Problem) *FETFile {
	g := gridOf(p)
	f := &FETFile{Version: "6.8.5", Mode: "Official", Institution: "Jianfu after-school solver instance",
		TeacherNotAvailable: map[string][]FETSlot{}, StudentsNotAvailable: map[string][]FETSlot{},
		RoomNotAvailable: map[string][]FETSlot{}, PreferredRooms: map[int][]string{}, StartingTimes: map[int][]FETSlot{}}
	dayIdx := map[int]int{}
	for i, d := range g.days {
		f.Days = append(f.Days, fetDayNames[d])
		dayIdx[d] = i
	}
	for i := 0; i < g.hours; i++ {
		f.Hours = append(f.Hours, g.hourName(i))
	}
	cover := func(ws []Window) []FETSlot {
		var out []FETSlot
		for _, d := range g.days {
			for i := 0; i < g.hours; i++ {
				s := g.start + i*g.step
				for _, u := range ws {
					if u.Weekday == d && s < u.End && u.Start < s+g.step {
						out = append(out, FETSlot{dayIdx[d], i})
						break
					}
				}
			}
		}
		return out
	}
	for _, d := range g.days {
		var win Window
		for _, w := range p.Windows {
			if w.Weekday == d {
				win = w
			}
		}
		for i := 0; i < g.hours; i++ {
			s := g.start + i*g.step
			if s < win.Start || s+g.step > win.End {
				f.Breaks = append(f.Breaks, FETSlot{dayIdx[d], i})
			}
		}
	}
	f.Breaks = append(f.Breaks, cover(p.Breaks)...)
	for _, in := range p.Instructors {
		f.Teachers = append(f.Teachers, in.ID)
		if na := cover(in.Unavailable); len(na) > 0 {
			f.TeacherNotAvailable[in.ID] = na
		}
	}
	for _, r := range p.Rooms {
		f.Rooms = append(f.Rooms, FETRoom{Name: r.ID, Building: r.Type, Capacity: 1000})
		if na := cover(r.Unavailable); len(na) > 0 {
			f.RoomNotAvailable[r.ID] = na
		}
	}
	// Students sets become years; their members become groups of that year.
	for _, ss := range p.StudentSets {
		y := FETYear{Name: ss.ID}
		for _, m := range ss.Members {
			if m != ss.ID {
				y.Groups = append(y.Groups, FETGroup{Name: m})
			}
		}
		f.Years = append(f.Years, y)
		if na := cover(ss.Unavailable); len(na) > 0 {
			f.StudentsNotAvailable[ss.ID] = na
		}
	}
	id := 1
	for _, t := range p.Programs {
		f.Subjects = append(f.Subjects, fmt.Sprintf("P%d", t.ID))
		d := (t.Duration + g.step - 1) / g.step
		var rooms []string
		for _, r := range p.Rooms {
			if (t.Rooms == nil && r.Type == t.RoomType) || slices.Contains(t.Rooms, r.ID) {
				rooms = append(rooms, r.ID)
			}
		}
		group := 0
		if t.SlotsPerWeek > 1 {
			group = id
		}
		var ids []int
		for k := 0; k < t.SlotsPerWeek; k++ {
			f.Activities = append(f.Activities, FETActivity{ID: id, GroupID: group, Teachers: t.teachers(), Subject: fmt.Sprintf("P%d", t.ID), Students: t.Students, Duration: d, Active: true})
			if !t.NoRoom {
				f.PreferredRooms[id] = rooms
			}
			for _, s := range t.Starts {
				if i, ok := dayIdx[s.Weekday]; ok && (s.Start-g.start)%g.step == 0 {
					f.StartingTimes[id] = append(f.StartingTimes[id], FETSlot{i, (s.Start - g.start) / g.step})
				}
			}
			ids = append(ids, id)
			id++
		}
		if len(ids) > 1 {
			f.MinDays = append(f.MinDays, FETMinDays{Activities: ids, Days: 1})
		}
	}
	return f
}

// WriteFET writes p as a FET 6 input file (see FETFromProblem).
func WriteFET(w io.Writer, p Problem) error {
	return FETFromProblem(p).Write(w)
}

// Write writes the file as FET 6 XML that fet-cl reads: the grid, the
// lists, the activities and the constraints we honour (the ones counted
// in Unsupported are not written).
func (f *FETFile) Write(w io.Writer) error {
	var b strings.Builder
	esc := func(s string) string {
		var sb strings.Builder
		_ = xml.EscapeText(&sb, []byte(s))
		return sb.String()
	}
	tag := func(name, val string) { fmt.Fprintf(&b, "<%s>%s</%s>\n", name, esc(val), name) }
	slot := func(wrap string, s FETSlot) {
		fmt.Fprintf(&b, "<%s><Day>%s</Day><Hour>%s</Hour></%s>\n", wrap, esc(f.Days[s.Day]), esc(f.Hours[s.Hour]), wrap)
	}
	const tail = "<Active>true</Active><Comments></Comments>"
	b.WriteString(xml.Header)
	b.WriteString("<fet version=\"6.8.5\">\n")
	tag("Mode", "Official")
	tag("Institution_Name", f.Institution)
	tag("Comments", "written by jianfu/scheduler")
	fmt.Fprintf(&b, "<Days_List>\n<Number_of_Days>%d</Number_of_Days>\n", len(f.Days))
	for _, d := range f.Days {
		fmt.Fprintf(&b, "<Day><Name>%s</Name></Day>\n", esc(d))
	}
	fmt.Fprintf(&b, "</Days_List>\n<Hours_List>\n<Number_of_Hours>%d</Number_of_Hours>\n", len(f.Hours))
	for _, h := range f.Hours {
		fmt.Fprintf(&b, "<Hour><Name>%s</Name></Hour>\n", esc(h))
	}
	b.WriteString("</Hours_List>\n<Subjects_List>\n")
	for _, s := range f.Subjects {
		fmt.Fprintf(&b, "<Subject><Name>%s</Name><Comments></Comments></Subject>\n", esc(s))
	}
	b.WriteString("</Subjects_List>\n<Activity_Tags_List>\n</Activity_Tags_List>\n<Teachers_List>\n")
	for _, t := range f.Teachers {
		fmt.Fprintf(&b, "<Teacher><Name>%s</Name><Target_Number_of_Hours>0</Target_Number_of_Hours><Qualified_Subjects></Qualified_Subjects><Comments></Comments></Teacher>\n", esc(t))
	}
	b.WriteString("</Teachers_List>\n<Students_List>\n")
	for _, y := range f.Years {
		fmt.Fprintf(&b, "<Year><Name>%s</Name><Number_of_Students>%d</Number_of_Students><Comments></Comments>\n", esc(y.Name), y.Number)
		for _, g := range y.Groups {
			fmt.Fprintf(&b, "<Group><Name>%s</Name><Number_of_Students>%d</Number_of_Students><Comments></Comments>\n", esc(g.Name), g.Number)
			for _, s := range g.Subgroups {
				fmt.Fprintf(&b, "<Subgroup><Name>%s</Name><Number_of_Students>%d</Number_of_Students><Comments></Comments></Subgroup>\n", esc(s.Name), s.Number)
			}
			b.WriteString("</Group>\n")
		}
		b.WriteString("</Year>\n")
	}
	b.WriteString("</Students_List>\n<Activities_List>\n")
	total := map[int]int{}
	for _, a := range f.Activities {
		total[a.GroupID] += a.Duration
	}
	for _, a := range f.Activities {
		b.WriteString("<Activity>\n")
		for _, t := range a.Teachers {
			tag("Teacher", t)
		}
		tag("Subject", a.Subject)
		for _, s := range a.Students {
			tag("Students", s)
		}
		td := a.Duration
		if a.GroupID != 0 {
			td = total[a.GroupID]
		}
		fmt.Fprintf(&b, "<Duration>%d</Duration>\n<Total_Duration>%d</Total_Duration>\n<Id>%d</Id>\n<Activity_Group_Id>%d</Activity_Group_Id>\n<Active>%t</Active>\n<Comments></Comments>\n</Activity>\n",
			a.Duration, td, a.ID, a.GroupID, a.Active)
	}
	b.WriteString("</Activities_List>\n<Buildings_List>\n</Buildings_List>\n<Rooms_List>\n")
	for _, r := range f.Rooms {
		fmt.Fprintf(&b, "<Room><Name>%s</Name><Building></Building><Capacity>%d</Capacity><Virtual>false</Virtual><Comments>%s</Comments></Room>\n", esc(r.Name), max(r.Capacity, 1), esc(r.Building))
	}
	b.WriteString("</Rooms_List>\n<Time_Constraints_List>\n")
	b.WriteString("<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage>" + tail + "</ConstraintBasicCompulsoryTime>\n")
	if len(f.Breaks) > 0 {
		fmt.Fprintf(&b, "<ConstraintBreakTimes><Weight_Percentage>100</Weight_Percentage><Number_of_Break_Times>%d</Number_of_Break_Times>\n", len(f.Breaks))
		for _, s := range f.Breaks {
			slot("Break_Time", s)
		}
		b.WriteString(tail + "</ConstraintBreakTimes>\n")
	}
	notAvail := func(kind, field string, m map[string][]FETSlot) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "<Constraint%sNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><%s>%s</%s><Number_of_Not_Available_Times>%d</Number_of_Not_Available_Times>\n", kind, field, esc(k), field, len(m[k]))
			for _, s := range m[k] {
				slot("Not_Available_Time", s)
			}
			fmt.Fprintf(&b, "%s</Constraint%sNotAvailableTimes>\n", tail, kind)
		}
	}
	notAvail("Teacher", "Teacher", f.TeacherNotAvailable)
	notAvail("StudentsSet", "Students", f.StudentsNotAvailable)
	for _, m := range f.MinDays {
		fmt.Fprintf(&b, "<ConstraintMinDaysBetweenActivities><Weight_Percentage>100</Weight_Percentage><Consecutive_If_Same_Day>false</Consecutive_If_Same_Day><Number_of_Activities>%d</Number_of_Activities>\n", len(m.Activities))
		for _, x := range m.Activities {
			fmt.Fprintf(&b, "<Activity_Id>%d</Activity_Id>\n", x)
		}
		fmt.Fprintf(&b, "<MinDays>%d</MinDays>%s</ConstraintMinDaysBetweenActivities>\n", m.Days, tail)
	}
	for _, a := range f.Activities {
		ss, ok := f.StartingTimes[a.ID]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "<ConstraintActivityPreferredStartingTimes><Weight_Percentage>100</Weight_Percentage><Activity_Id>%d</Activity_Id><Number_of_Preferred_Starting_Times>%d</Number_of_Preferred_Starting_Times>\n", a.ID, len(ss))
		for _, s := range ss {
			fmt.Fprintf(&b, "<Preferred_Starting_Time><Preferred_Starting_Day>%s</Preferred_Starting_Day><Preferred_Starting_Hour>%s</Preferred_Starting_Hour></Preferred_Starting_Time>\n", esc(f.Days[s.Day]), esc(f.Hours[s.Hour]))
		}
		b.WriteString(tail + "</ConstraintActivityPreferredStartingTimes>\n")
	}
	b.WriteString("</Time_Constraints_List>\n<Space_Constraints_List>\n")
	b.WriteString("<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage>" + tail + "</ConstraintBasicCompulsorySpace>\n")
	notAvail("Room", "Room", f.RoomNotAvailable)
	for _, a := range f.Activities {
		rooms, ok := f.PreferredRooms[a.ID]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "<ConstraintActivityPreferredRooms><Weight_Percentage>100</Weight_Percentage><Activity_Id>%d</Activity_Id><Number_of_Preferred_Rooms>%d</Number_of_Preferred_Rooms>\n", a.ID, len(rooms))
		for _, r := range rooms {
			tag("Preferred_Room", r)
		}
		b.WriteString(tail + "</ConstraintActivityPreferredRooms>\n")
	}
	b.WriteString("</Space_Constraints_List>\n</fet>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// ReadFETActivities reads fet-cl's <name>_activities.xml for the file
// WriteFET wrote from p back into a Solution of p (activity ids as
// FETActivityIDs numbers them). An unknown day or hour name is an error.
func ReadFETActivities(r io.Reader, p Problem) (Solution, error) {
	f := FETFromProblem(p)
	fs, err := ReadFETSolution(r, f)
	if err != nil {
		return Solution{}, err
	}
	ids := FETActivityIDs(p)
	dur := map[int64]int{}
	for _, t := range p.Programs {
		dur[t.ID] = t.Duration
	}
	var sol Solution
	placed := map[int64]int{}
	for _, pl := range fs.Placements {
		pid := ids[int(pl.ProgramID)]
		pl.ProgramID, pl.End = pid, pl.Start+dur[pid]
		sol.Placements = append(sol.Placements, pl)
		placed[pid]++
	}
	for _, t := range p.Programs {
		if placed[t.ID] < t.SlotsPerWeek {
			sol.Unplaced = append(sol.Unplaced, Unplaced{ProgramID: t.ID, Reason: "fet_unplaced"})
		}
	}
	return sol, nil
}
