package scheduler

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// FETFile is what we read from a FET input file (.fet, any version from 5.x
// to 6.x): the time grid with its own day and hour names, subjects,
// teachers, rooms, the students hierarchy (years, groups, subgroups), the
// activities, and the constraints the solver honours. Every other
// constraint, and a supported one at a weight under 100 %, is counted in
// Unsupported by its FET name, so an import says what it leaves out instead
// of dropping it quietly.
type FETFile struct {
	Version     string
	Mode        string // Official, Mornings-Afternoons, Block-planning, …
	Institution string
	Days        []string
	Hours       []string
	Subjects    []string
	Teachers    []string
	Rooms       []FETRoom
	Years       []FETYear
	Activities  []FETActivity

	// Hard (100 %) constraints we honour, by teacher, students set or room name.
	TeacherNotAvailable  map[string][]FETSlot
	StudentsNotAvailable map[string][]FETSlot
	RoomNotAvailable     map[string][]FETSlot
	Breaks               []FETSlot
	// PreferredRooms: activity id → the rooms it may use (several
	// constraints on one activity intersect).
	PreferredRooms map[int][]string
	// StartingTimes: activity id → the only times it may start.
	StartingTimes map[int][]FETSlot
	MinDays       []FETMinDays

	Unsupported []FETUnsupported
	// Honoured counts the constraints read by FET name (basic ones
	// included); Inactive the ones the file switches off.
	Honoured map[string]int
	Inactive int
}

// FETSlot is a (day, hour) position as indexes into Days and Hours.
type FETSlot struct{ Day, Hour int }

// FETRoom is a room of the file.
type FETRoom struct {
	Name     string
	Building string
	Capacity int
	Virtual  bool
}

// FETYear is a year of students with its groups; FETGroup a group with its
// subgroups. Number is FET's Number_of_Students.
type FETYear struct {
	Name   string
	Number int
	Groups []FETGroup
}

// FETGroup is a group of a year.
type FETGroup struct {
	Name      string
	Number    int
	Subgroups []FETSubgroup
}

// FETSubgroup is a subgroup of a group.
type FETSubgroup struct {
	Name   string
	Number int
}

// FETActivity is one activity (a sub-activity of a split one keeps its own
// id; GroupID ties the parts together).
type FETActivity struct {
	ID, GroupID int
	Teachers    []string
	Subject     string
	Tags        []string
	Students    []string
	Duration    int
	Active      bool
}

// FETMinDays is ConstraintMinDaysBetweenActivities at 100 %: any two of the
// activities lie at least Days days apart.
type FETMinDays struct {
	Activities []int
	Days       int
}

// FETUnsupported counts the constraints of one FET name we do not honour.
type FETUnsupported struct {
	Name  string
	Count int
}

// ErrFETFormat is the error of a file that is not a FET input we can read.
var ErrFETFormat = errors.New("not a readable FET file")

type xName struct {
	Name     string `xml:"Name"`
	Number   int    `xml:"Number_of_Students"`
	Building string `xml:"Building"`
	Capacity int    `xml:"Capacity"`
	Virtual  string `xml:"Virtual"`
}

type xDayHour struct {
	Day      string `xml:"Day"`
	Hour     string `xml:"Hour"`
	PrefDay  string `xml:"Preferred_Starting_Day"`
	PrefHour string `xml:"Preferred_Starting_Hour"`
}

type xConstraint struct {
	XMLName     xml.Name
	Weight      string     `xml:"Weight_Percentage"`
	Active      string     `xml:"Active"`
	Teacher     string     `xml:"Teacher"`
	Students    string     `xml:"Students"`
	Room        string     `xml:"Room"`
	Subject     string     `xml:"Subject"`
	ActivityIDs []int      `xml:"Activity_Id"`
	PrefDay     string     `xml:"Preferred_Day"`
	PrefHour    string     `xml:"Preferred_Hour"`
	NotAvail    []xDayHour `xml:"Not_Available_Time"`
	Breaks      []xDayHour `xml:"Break_Time"`
	Starting    []xDayHour `xml:"Preferred_Starting_Time"`
	Preferred   []string   `xml:"Preferred_Room"`
	MinDays     int        `xml:"MinDays"`
}

type xFET struct {
	XMLName     xml.Name `xml:"fet"`
	Version     string   `xml:"version,attr"`
	Mode        string   `xml:"Mode"`
	Institution string   `xml:"Institution_Name"`
	Days        []xName  `xml:"Days_List>Day"`
	Hours       []xName  `xml:"Hours_List>Hour"`
	Subjects    []xName  `xml:"Subjects_List>Subject"`
	Teachers    []xName  `xml:"Teachers_List>Teacher"`
	Rooms       []xName  `xml:"Rooms_List>Room"`
	Years       []struct {
		xName
		Groups []struct {
			xName
			Subgroups []xName `xml:"Subgroup"`
		} `xml:"Group"`
	} `xml:"Students_List>Year"`
	Activities []struct {
		Teachers []string `xml:"Teacher"`
		Subject  string   `xml:"Subject"`
		Tags     []string `xml:"Activity_Tag"`
		Students []string `xml:"Students"`
		Duration int      `xml:"Duration"`
		ID       int      `xml:"Id"`
		GroupID  int      `xml:"Activity_Group_Id"`
		Active   string   `xml:"Active"`
	} `xml:"Activities_List>Activity"`
	Time struct {
		List []xConstraint `xml:",any"`
	} `xml:"Time_Constraints_List"`
	Space struct {
		List []xConstraint `xml:",any"`
	} `xml:"Space_Constraints_List"`
}

// readAllNoBOM reads r and drops a UTF-8 byte order mark (FET writes one).
func readAllNoBOM(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(bufio.NewReader(r))
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), err
}

// ReadFET reads a FET input file. It fails (wrapping ErrFETFormat) on a file
// that is not FET XML, has no days, hours or activities, or names a day,
// hour, teacher, students set, room or activity that the file does not
// define: nothing is dropped without an error.
func ReadFET(r io.Reader) (*FETFile, error) {
	b, err := readAllNoBOM(r)
	if err != nil {
		return nil, err
	}
	var x xFET
	if err := xml.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFETFormat, err)
	}
	f := &FETFile{Version: x.Version, Mode: x.Mode, Institution: x.Institution,
		TeacherNotAvailable: map[string][]FETSlot{}, StudentsNotAvailable: map[string][]FETSlot{},
		RoomNotAvailable: map[string][]FETSlot{}, PreferredRooms: map[int][]string{}, StartingTimes: map[int][]FETSlot{},
		Honoured: map[string]int{}}
	if f.Mode == "" {
		// FET 5 had separate builds for the other modes, named by a suffix
		// of the version: 5.27.3-algeria…, -ma…, -morocco… and -bp.
		_, suffix, _ := strings.Cut(f.Version, "-")
		switch {
		case strings.HasPrefix(suffix, "algeria"), strings.HasPrefix(suffix, "ma"), strings.HasPrefix(suffix, "morocco"):
			f.Mode = "Mornings_Afternoons"
		case strings.HasPrefix(suffix, "bp"):
			f.Mode = "Block_Planning"
		case strings.HasPrefix(suffix, "mathmake"):
			f.Mode = "Terms"
		default:
			f.Mode = "Official"
		}
	}
	names := func(xs []xName) []string {
		out := make([]string, len(xs))
		for i, n := range xs {
			out[i] = strings.TrimSpace(n.Name)
		}
		return out
	}
	f.Days, f.Hours, f.Subjects, f.Teachers = names(x.Days), names(x.Hours), names(x.Subjects), names(x.Teachers)
	if len(f.Days) == 0 || len(f.Hours) == 0 {
		return nil, fmt.Errorf("%w: no days or no hours", ErrFETFormat)
	}
	for _, r := range x.Rooms {
		f.Rooms = append(f.Rooms, FETRoom{Name: strings.TrimSpace(r.Name), Building: r.Building, Capacity: r.Capacity, Virtual: r.Virtual == "true"})
	}
	for _, y := range x.Years {
		fy := FETYear{Name: strings.TrimSpace(y.Name), Number: y.Number}
		for _, g := range y.Groups {
			fg := FETGroup{Name: strings.TrimSpace(g.Name), Number: g.Number}
			for _, s := range g.Subgroups {
				fg.Subgroups = append(fg.Subgroups, FETSubgroup{Name: strings.TrimSpace(s.Name), Number: s.Number})
			}
			fy.Groups = append(fy.Groups, fg)
		}
		f.Years = append(f.Years, fy)
	}
	sets := f.StudentAtoms()
	for _, a := range x.Activities {
		fa := FETActivity{ID: a.ID, GroupID: a.GroupID, Subject: strings.TrimSpace(a.Subject), Tags: a.Tags, Duration: a.Duration, Active: a.Active != "false"}
		for _, t := range a.Teachers {
			t = strings.TrimSpace(t)
			if !slices.Contains(f.Teachers, t) {
				return nil, fmt.Errorf("%w: activity %d: unknown teacher %q", ErrFETFormat, a.ID, t)
			}
			fa.Teachers = append(fa.Teachers, t)
		}
		for _, s := range a.Students {
			s = strings.TrimSpace(s)
			if _, ok := sets[s]; !ok {
				return nil, fmt.Errorf("%w: activity %d: unknown students set %q", ErrFETFormat, a.ID, s)
			}
			fa.Students = append(fa.Students, s)
		}
		if fa.ID <= 0 || fa.Duration <= 0 || fa.Duration > len(f.Hours) {
			return nil, fmt.Errorf("%w: activity %d: id or duration %d out of range", ErrFETFormat, a.ID, a.Duration)
		}
		f.Activities = append(f.Activities, fa)
	}
	if len(f.Activities) == 0 {
		return nil, fmt.Errorf("%w: no activities", ErrFETFormat)
	}
	unsupported := map[string]int{}
	for _, c := range append(x.Time.List, x.Space.List...) {
		if err := f.addConstraint(c, sets, unsupported); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFETFormat, c.XMLName.Local, err)
		}
	}
	for _, r := range f.Rooms {
		if r.Virtual {
			unsupported["virtual room"]++
		}
	}
	if f.Mode != "Official" {
		unsupported["mode "+f.Mode]++
	}
	for n, c := range unsupported {
		f.Unsupported = append(f.Unsupported, FETUnsupported{n, c})
	}
	sort.Slice(f.Unsupported, func(i, j int) bool { return f.Unsupported[i].Name < f.Unsupported[j].Name })
	return f, nil
}

// DayIndex and HourIndex find a name in the grid (-1 if absent).
func (f *FETFile) DayIndex(name string) int  { return slices.Index(f.Days, strings.TrimSpace(name)) }
func (f *FETFile) HourIndex(name string) int { return slices.Index(f.Hours, strings.TrimSpace(name)) }

func (f *FETFile) slot(day, hour string) (FETSlot, error) {
	d, h := f.DayIndex(day), f.HourIndex(hour)
	if d < 0 {
		return FETSlot{}, fmt.Errorf("unknown day %q", day)
	}
	if h < 0 {
		return FETSlot{}, fmt.Errorf("unknown hour %q", hour)
	}
	return FETSlot{d, h}, nil
}

func (f *FETFile) slots(xs []xDayHour) ([]FETSlot, error) {
	var out []FETSlot
	for _, x := range xs {
		day, hour := x.Day, x.Hour
		if x.PrefDay != "" || x.PrefHour != "" {
			day, hour = x.PrefDay, x.PrefHour
		}
		s, err := f.slot(day, hour)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *FETFile) hasActivity(id int) bool {
	return slices.ContainsFunc(f.Activities, func(a FETActivity) bool { return a.ID == id })
}

func (f *FETFile) hasRoom(name string) bool {
	return slices.ContainsFunc(f.Rooms, func(r FETRoom) bool { return r.Name == name })
}

// addConstraint files one constraint as honoured or counts it as
// unsupported. An inactive constraint is neither (FET ignores it too).
func (f *FETFile) addConstraint(c xConstraint, sets map[string][]string, unsupported map[string]int) error {
	name := c.XMLName.Local
	// Names are compared without surrounding spaces, as in the lists.
	c.Teacher, c.Students, c.Room, c.Subject = strings.TrimSpace(c.Teacher), strings.TrimSpace(c.Students), strings.TrimSpace(c.Room), strings.TrimSpace(c.Subject)
	for i := range c.Preferred {
		c.Preferred[i] = strings.TrimSpace(c.Preferred[i])
	}
	if strings.TrimSpace(c.Active) == "false" {
		f.Inactive++
		return nil
	}
	hard := strings.TrimSpace(c.Weight) == "100"
	switch name {
	case "ConstraintBasicCompulsoryTime", "ConstraintBasicCompulsorySpace":
		f.Honoured[name]++
		return nil
	case "ConstraintTeacherNotAvailableTimes", "ConstraintStudentsSetNotAvailableTimes", "ConstraintRoomNotAvailableTimes", "ConstraintBreakTimes",
		"ConstraintActivityPreferredRoom", "ConstraintActivityPreferredRooms", "ConstraintSubjectPreferredRoom", "ConstraintSubjectPreferredRooms",
		"ConstraintActivityPreferredStartingTime", "ConstraintActivityPreferredStartingTimes", "ConstraintMinDaysBetweenActivities":
		if !hard {
			unsupported[name+" (weight under 100%)"]++
			return nil
		}
	default:
		unsupported[name]++
		return nil
	}
	f.Honoured[name]++
	switch name {
	case "ConstraintTeacherNotAvailableTimes":
		if !slices.Contains(f.Teachers, c.Teacher) {
			return fmt.Errorf("unknown teacher %q", c.Teacher)
		}
		s, err := f.slots(c.NotAvail)
		f.TeacherNotAvailable[c.Teacher] = append(f.TeacherNotAvailable[c.Teacher], s...)
		return err
	case "ConstraintStudentsSetNotAvailableTimes":
		if _, ok := sets[c.Students]; !ok {
			return fmt.Errorf("unknown students set %q", c.Students)
		}
		s, err := f.slots(c.NotAvail)
		f.StudentsNotAvailable[c.Students] = append(f.StudentsNotAvailable[c.Students], s...)
		return err
	case "ConstraintRoomNotAvailableTimes":
		if !f.hasRoom(c.Room) {
			return fmt.Errorf("unknown room %q", c.Room)
		}
		s, err := f.slots(c.NotAvail)
		f.RoomNotAvailable[c.Room] = append(f.RoomNotAvailable[c.Room], s...)
		return err
	case "ConstraintBreakTimes":
		s, err := f.slots(c.Breaks)
		f.Breaks = append(f.Breaks, s...)
		return err
	case "ConstraintActivityPreferredRoom", "ConstraintActivityPreferredRooms", "ConstraintSubjectPreferredRoom", "ConstraintSubjectPreferredRooms":
		rooms := c.Preferred
		if c.Room != "" {
			rooms = []string{c.Room}
		}
		for _, r := range rooms {
			if !f.hasRoom(r) {
				return fmt.Errorf("unknown room %q", r)
			}
		}
		var ids []int
		if strings.HasPrefix(name, "ConstraintSubject") {
			for _, a := range f.Activities {
				if a.Subject == c.Subject {
					ids = append(ids, a.ID)
				}
			}
		} else {
			if len(c.ActivityIDs) != 1 || !f.hasActivity(c.ActivityIDs[0]) {
				return fmt.Errorf("unknown activity %v", c.ActivityIDs)
			}
			ids = c.ActivityIDs
		}
		for _, id := range ids {
			if old, ok := f.PreferredRooms[id]; ok {
				rooms = slices.DeleteFunc(slices.Clone(rooms), func(r string) bool { return !slices.Contains(old, r) })
			}
			f.PreferredRooms[id] = slices.Clone(rooms)
		}
		return nil
	case "ConstraintActivityPreferredStartingTime", "ConstraintActivityPreferredStartingTimes":
		if len(c.ActivityIDs) != 1 || !f.hasActivity(c.ActivityIDs[0]) {
			return fmt.Errorf("unknown activity %v", c.ActivityIDs)
		}
		xs := c.Starting
		if name == "ConstraintActivityPreferredStartingTime" {
			xs = []xDayHour{{Day: c.PrefDay, Hour: c.PrefHour}}
		}
		s, err := f.slots(xs)
		if err != nil {
			return err
		}
		id := c.ActivityIDs[0]
		if old, ok := f.StartingTimes[id]; ok {
			s = slices.DeleteFunc(s, func(x FETSlot) bool { return !slices.Contains(old, x) })
		}
		f.StartingTimes[id] = s
		return nil
	case "ConstraintMinDaysBetweenActivities":
		for _, id := range c.ActivityIDs {
			if !f.hasActivity(id) {
				return fmt.Errorf("unknown activity %d", id)
			}
		}
		if c.MinDays > 0 {
			f.MinDays = append(f.MinDays, FETMinDays{Activities: c.ActivityIDs, Days: c.MinDays})
		}
		return nil
	}
	return nil
}

// StudentAtoms maps every students set name (year, group, subgroup) to the
// smallest sets it contains: its subgroups, or itself when it has none.
// Two activities clash for students when their sets share an atom.
func (f *FETFile) StudentAtoms() map[string][]string {
	out := map[string][]string{}
	add := func(set string, atoms ...string) {
		for _, a := range atoms {
			if !slices.Contains(out[set], a) {
				out[set] = append(out[set], a)
			}
		}
	}
	for _, y := range f.Years {
		if len(y.Groups) == 0 {
			add(y.Name, y.Name)
		}
		for _, g := range y.Groups {
			if len(g.Subgroups) == 0 {
				add(g.Name, g.Name)
				add(y.Name, g.Name)
			}
			for _, s := range g.Subgroups {
				add(s.Name, s.Name)
				add(g.Name, s.Name)
				add(y.Name, s.Name)
			}
		}
	}
	return out
}

// FETGrid gives the minutes of the FET hours in a Problem: the first
// hour's start and one period's length. Hours named as clock times at a
// regular step (as WriteFET names them, "15:30", or "8.00 - 8.45") keep
// their times; any other names become 45-minute periods from 08:00.
func (f *FETFile) FETGrid() (start, step int) {
	var starts []int
	for _, h := range f.Hours {
		m, ok := clockStart(h)
		if !ok {
			return 8 * 60, 45
		}
		starts = append(starts, m)
	}
	if len(starts) == 1 {
		return starts[0], 45
	}
	step = starts[1] - starts[0]
	for i := 1; i < len(starts); i++ {
		if starts[i]-starts[i-1] != step {
			return 8 * 60, 45
		}
	}
	if step <= 0 {
		return 8 * 60, 45
	}
	return starts[0], step
}

// clockStart reads "15:30", "9.30" or "9.30 - 11.00" as minutes.
func clockStart(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " -–"); i > 0 {
		s = s[:i]
	}
	sep := strings.IndexAny(s, ":.")
	if sep <= 0 {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:sep])
	m, err2 := strconv.Atoi(s[sep+1:])
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(s[sep+1:]) != 2 {
		return 0, false
	}
	return h*60 + m, true
}

// Problem turns the file into a solver instance: day i is Weekday i+1 with
// a window over all hours, each active activity is a Task of one slot
// (id = FET activity id) with its teachers, students sets, preferred rooms
// (no room when it has none, as in FET) and allowed starts; not-available
// times, break times and min-days constraints carry over.
func (f *FETFile) Problem() Problem {
	start, step := f.FETGrid()
	at := func(s FETSlot) Window {
		return Window{Weekday: s.Day + 1, Start: start + s.Hour*step, End: start + (s.Hour+1)*step}
	}
	p := Problem{Step: step}
	for d := range f.Days {
		p.Windows = append(p.Windows, Window{Weekday: d + 1, Start: start, End: start + len(f.Hours)*step})
	}
	for _, s := range f.Breaks {
		p.Breaks = append(p.Breaks, at(s))
	}
	for _, r := range f.Rooms {
		room := Room{ID: r.Name}
		for _, s := range f.RoomNotAvailable[r.Name] {
			room.Unavailable = append(room.Unavailable, at(s))
		}
		p.Rooms = append(p.Rooms, room)
	}
	for _, t := range f.Teachers {
		in := Instructor{ID: t}
		for _, s := range f.TeacherNotAvailable[t] {
			in.Unavailable = append(in.Unavailable, at(s))
		}
		p.Instructors = append(p.Instructors, in)
	}
	atoms := f.StudentAtoms()
	setNames := make([]string, 0, len(atoms))
	for n := range atoms {
		setNames = append(setNames, n)
	}
	sort.Strings(setNames)
	for _, n := range setNames {
		ss := StudentSet{ID: n, Members: atoms[n]}
		for _, s := range f.StudentsNotAvailable[n] {
			ss.Unavailable = append(ss.Unavailable, at(s))
		}
		p.StudentSets = append(p.StudentSets, ss)
	}
	for _, a := range f.Activities {
		if !a.Active {
			continue
		}
		t := Task{ID: int64(a.ID), Name: a.Subject, SlotsPerWeek: 1, Duration: a.Duration * step, Students: a.Students}
		if len(a.Teachers) > 0 {
			t.Instructor, t.CoInstructors = a.Teachers[0], a.Teachers[1:]
		}
		if rooms, ok := f.PreferredRooms[a.ID]; ok {
			t.Rooms = rooms
			if len(rooms) == 0 {
				t.Rooms = []string{} // constraints that share no room: unplaceable
			}
		} else {
			t.NoRoom = true
		}
		for _, s := range f.StartingTimes[a.ID] {
			t.Starts = append(t.Starts, at(s))
		}
		if t.Starts != nil && len(t.Starts) == 0 {
			t.Starts = []Window{}
		}
		p.Programs = append(p.Programs, t)
	}
	for _, m := range f.MinDays {
		ids := make([]int64, len(m.Activities))
		for i, a := range m.Activities {
			ids[i] = int64(a)
		}
		p.MinDays = append(p.MinDays, MinDaysRule{Programs: ids, Days: m.Days})
	}
	return p
}

// ReadFETSolution reads fet-cl's <name>_activities.xml for the file f into a
// Solution of f.Problem(). Days and hours are matched by the names the file
// gives them ("1st", "Tiết 4", "Dilluns"); a name the file does not define,
// or an activity it does not have, is an error, never a placement on a
// day that does not exist. An activity fet-cl left without a day or hour is
// unplaced.
func ReadFETSolution(r io.Reader, f *FETFile) (Solution, error) {
	b, err := readAllNoBOM(r)
	if err != nil {
		return Solution{}, err
	}
	var doc struct {
		XMLName    xml.Name `xml:"Activities_Timetable"`
		Activities []struct {
			ID   int    `xml:"Id"`
			Day  string `xml:"Day"`
			Hour string `xml:"Hour"`
			Room string `xml:"Room"`
		} `xml:"Activity"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return Solution{}, fmt.Errorf("%w: %v", ErrFETFormat, err)
	}
	p := f.Problem()
	task := map[int64]Task{}
	for _, t := range p.Programs {
		task[t.ID] = t
	}
	start, step := f.FETGrid()
	var sol Solution
	placed := map[int64]bool{}
	for _, a := range doc.Activities {
		t, ok := task[int64(a.ID)]
		if !ok {
			return Solution{}, fmt.Errorf("%w: activity %d is not in the input file", ErrFETFormat, a.ID)
		}
		if strings.TrimSpace(a.Day) == "" || strings.TrimSpace(a.Hour) == "" {
			continue
		}
		s, err := f.slot(a.Day, a.Hour)
		if err != nil {
			return Solution{}, fmt.Errorf("%w: activity %d: %v", ErrFETFormat, a.ID, err)
		}
		m := start + s.Hour*step
		sol.Placements = append(sol.Placements, Placement{ProgramID: t.ID, Weekday: s.Day + 1, Start: m, End: m + t.Duration, Room: strings.TrimSpace(a.Room)})
		placed[t.ID] = true
	}
	for _, t := range p.Programs {
		if !placed[t.ID] {
			sol.Unplaced = append(sol.Unplaced, Unplaced{ProgramID: t.ID, Reason: "fet_unplaced"})
		}
	}
	return sol, nil
}
