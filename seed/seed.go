// Package seed builds the deterministic demo district (Fuxin, 210900) and
// scaled-up districts for benchmarks. The same seed number gives the same data.
package seed

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/schollz/progressbar/v3"
	"gorm.io/gorm"

	"jianfu/models"
	"jianfu/policies"
)

// DemoPassword is the password of every demo account.
const DemoPassword = "jianfu-demo"

// Options control what is generated.
type Options struct {
	Seed     uint64    // random seed; same seed, same data
	Schools  int       // 0: the demo district (14 schools); N: N schools spread over the counties
	Days     int       // school days of activity (homework …) to generate back from Today; 0: area default
	Today    string    // the "today" of the data, YYYY-MM-DD (default: the current date in Shanghai)
	Progress io.Writer // where the progress bar goes; nil: none
	// StudentsPerClass overrides the plan (tests use a few students per class).
	StudentsPerClass int
}

// District is what was generated, for area seeders and for printing.
type District struct {
	Rand     *rand.Rand
	Opts     Options
	Term     map[int64]*models.Term // school id → current term
	Schools  []models.School
	Classes  map[int64][]models.Class // school id → classes
	Teachers map[int64][]int64        // school id → teacher user ids
	Accounts []Account
	Subjects map[string]models.Subject // by Chinese name
	BulkRows int64                     // rows written in bulk (COPY or batched INSERT)
	hash     string
}

// Account is a named demo account to print.
type Account struct {
	Username string
	Role     string
	Scope    string
	Note     string
}

// Area seeders add each area's demo data (homework, programs, exams …) after
// the people exist. Each area registers one in an init func.
var areaSeeders []func(ctx context.Context, db *gorm.DB, d *District) error

// RegisterArea adds an area seeder.
func RegisterArea(fn func(ctx context.Context, db *gorm.DB, d *District) error) {
	areaSeeders = append(areaSeeders, fn)
}

// finalSeeders run after every area seeder: the bureau's reports and alerts
// read the indicators the other areas' data gives.
var finalSeeders []func(ctx context.Context, db *gorm.DB, d *District) error

// RegisterFinal adds a seeder that runs after all area seeders.
func RegisterFinal(fn func(ctx context.Context, db *gorm.DB, d *District) error) {
	finalSeeders = append(finalSeeders, fn)
}

// IsEmpty reports whether the database has no schools yet.
func IsEmpty(ctx context.Context, db *gorm.DB) (bool, error) {
	var n int64
	err := db.WithContext(ctx).Model(&models.School{}).Count(&n).Error
	return n == 0, err
}

var fuxinCounties = []struct{ Code, Name string }{
	{"210902", "海州区"}, {"210903", "新邱区"}, {"210904", "太平区"}, {"210905", "清河门区"},
	{"210911", "细河区"}, {"210921", "阜新蒙古族自治县"}, {"210922", "彰武县"},
}

var subjectList = []models.Subject{
	{Code: "chinese", Name: "语文", NameEn: "Chinese"}, {Code: "math", Name: "数学", NameEn: "Mathematics"},
	{Code: "english", Name: "英语", NameEn: "English"}, {Code: "morality", Name: "道德与法治", NameEn: "Morality and Law"},
	{Code: "science", Name: "科学", NameEn: "Science"}, {Code: "physics", Name: "物理", NameEn: "Physics"},
	{Code: "chemistry", Name: "化学", NameEn: "Chemistry"}, {Code: "biology", Name: "生物", NameEn: "Biology"},
	{Code: "history", Name: "历史", NameEn: "History"}, {Code: "geography", Name: "地理", NameEn: "Geography"},
	{Code: "pe", Name: "体育与健康", NameEn: "PE and Health"}, {Code: "music", Name: "音乐", NameEn: "Music"},
	{Code: "art", Name: "美术", NameEn: "Art"}, {Code: "it", Name: "信息科技", NameEn: "Information Technology"},
}

// SubjectsOfGrade lists the subjects taught in a grade (a simplified 2022 curriculum).
func SubjectsOfGrade(g int) []string {
	switch {
	case g <= 2:
		return []string{"语文", "数学", "道德与法治", "体育与健康", "音乐", "美术"}
	case g <= 6:
		return []string{"语文", "数学", "英语", "科学", "道德与法治", "体育与健康", "音乐", "美术", "信息科技"}
	case g == 7:
		return []string{"语文", "数学", "英语", "道德与法治", "历史", "地理", "生物", "体育与健康"}
	case g == 8:
		return []string{"语文", "数学", "英语", "道德与法治", "历史", "地理", "生物", "物理", "体育与健康"}
	default:
		return []string{"语文", "数学", "英语", "道德与法治", "历史", "物理", "化学", "体育与健康"}
	}
}

// Demo loads the demo district. It expects an empty, migrated database.
func Demo(ctx context.Context, db *gorm.DB, az *models.Authorizer, opts Options) (*District, error) {
	return build(ctx, db, az, opts)
}

func build(ctx context.Context, db *gorm.DB, az *models.Authorizer, opts Options) (*District, error) {
	if opts.Today == "" {
		opts.Today = time.Now().In(shanghai()).Format(models.DateLayout)
	}
	hash, err := models.HashPassword(DemoPassword)
	if err != nil {
		return nil, err
	}
	d := &District{Rand: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), Opts: opts,
		Term: map[int64]*models.Term{}, Classes: map[int64][]models.Class{}, Teachers: map[int64][]int64{},
		Subjects: map[string]models.Subject{}, hash: hash}
	db = db.WithContext(ctx)
	if err := d.regions(db); err != nil {
		return nil, err
	}
	if err := d.subjects(db); err != nil {
		return nil, err
	}
	plan := demoSchools()
	if opts.Schools > 0 {
		plan = scaledSchools(opts.Schools)
	}
	if opts.StudentsPerClass > 0 {
		for i := range plan {
			plan[i].StudentsPerClass = opts.StudentsPerClass
		}
	}
	// The bar counts the rows written in bulk and shows their rate.
	var bar *progressbar.ProgressBar
	startRows := rowsWritten.Load()
	if opts.Progress != nil {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription("seeding"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"), progressbar.OptionThrottle(250*time.Millisecond), progressbar.OptionClearOnFinish())
		progress = func(n int64) { _ = bar.Add64(n) }
		defer func() { progress = nil }()
	}
	describe := func(format string, args ...any) {
		if bar != nil {
			bar.Describe(fmt.Sprintf(format, args...))
		}
	}
	var grants [][]string
	for i, sp := range plan {
		describe("schools %d/%d", i+1, len(plan))
		g, err := d.school(ctx, db, i, sp)
		if err != nil {
			return nil, fmt.Errorf("school %s: %w", sp.Name, err)
		}
		grants = append(grants, g...)
	}
	og, err := d.officials(db)
	if err != nil {
		return nil, err
	}
	grants = append(grants, og...)
	if err := az.SyncDefaultPolicy(); err != nil {
		return nil, err
	}
	// Grants go straight into casbin_rule in bulk, then the enforcer reloads:
	// adding them one by one through the enforcer costs a statement each.
	seen := map[[3]string]bool{}
	rows := make([][]any, 0, len(grants))
	for _, g := range grants {
		k := [3]string{g[0], g[1], g[2]}
		if !seen[k] {
			seen[k] = true
			rows = append(rows, []any{"g", g[0], g[1], g[2], "", "", ""})
		}
	}
	if err := bulkInsert(ctx, db, "casbin_rule", []string{"ptype", "v0", "v1", "v2", "v3", "v4", "v5"}, rows); err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	if err := az.Reload(); err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	if az.Watcher != nil { // other replicas reload too
		if err := az.Watcher.Update(); err != nil {
			return nil, fmt.Errorf("grants: %w", err)
		}
	}
	for i, fn := range areaSeeders {
		describe("areas %d/%d", i+1, len(areaSeeders))
		t0 := time.Now()
		if err := fn(ctx, db, d); err != nil {
			return nil, err
		}
		slog.Debug("seed area", "n", i+1, "ms", time.Since(t0).Milliseconds())
	}
	for _, fn := range finalSeeders {
		if err := fn(ctx, db, d); err != nil {
			return nil, err
		}
	}
	describe("indicator rollups")
	if err := buildRollups(ctx, db, opts.Today); err != nil {
		return nil, err
	}
	if bar != nil {
		bar.Finish()
	}
	d.BulkRows = rowsWritten.Load() - startRows
	return d, nil
}

// buildRollups computes every school's indicator rollup rows from the area
// rollups in a few set-based statements, then drops the outbox entries the
// bulk load left (the rebuild covers them).
func buildRollups(ctx context.Context, db *gorm.DB, today string) error {
	var last int64
	if err := db.Model(&models.IndicatorOutboxEntry{}).Select("COALESCE(MAX(id), 0)").Scan(&last).Error; err != nil {
		return err
	}
	if _, err := models.RebuildIndicatorRollups(ctx, db, nil, "", "", today); err != nil {
		return fmt.Errorf("indicator rollups: %w", err)
	}
	return db.Where("id <= ?", last).Delete(&models.IndicatorOutboxEntry{}).Error
}

func shanghai() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}

func (d *District) regions(db *gorm.DB) error {
	city := "210900"
	rows := []models.Region{{Code: city, Name: "阜新市", Level: "city"}}
	for _, c := range fuxinCounties {
		rows = append(rows, models.Region{Code: c.Code, Name: c.Name, ParentCode: &city, Level: "county"})
	}
	return db.Create(&rows).Error
}

func (d *District) subjects(db *gorm.DB) error {
	rows := append([]models.Subject(nil), subjectList...)
	if err := db.Create(&rows).Error; err != nil {
		return err
	}
	for _, s := range rows {
		d.Subjects[s.Name] = s
	}
	return nil
}

type schoolPlan struct {
	Region, Name, Stage, Key string // Key names the demo accounts (hz1, xq1); "" for none
	ClassesPerGrade          int
	StudentsPerClass         int
}

func demoSchools() []schoolPlan {
	return []schoolPlan{
		{"210902", "阜新市海州区实验学校", models.StageNineYear, "hz1", 2, 30},
		{"210902", "阜新市海州区第二小学", models.StagePrimary, "", 2, 25},
		{"210903", "阜新市新邱区第一小学", models.StagePrimary, "xq1", 2, 25},
		{"210903", "阜新市新邱区中学", models.StageJunior, "", 2, 25},
		{"210904", "阜新市太平区实验小学", models.StagePrimary, "", 2, 25},
		{"210904", "阜新市太平区第二中学", models.StageJunior, "", 2, 25},
		{"210905", "阜新市清河门区小学", models.StagePrimary, "", 1, 25},
		{"210905", "阜新市清河门区中学", models.StageJunior, "", 1, 25},
		{"210911", "阜新市细河区第一小学", models.StagePrimary, "", 2, 25},
		{"210911", "阜新市细河区实验中学", models.StageJunior, "", 2, 25},
		{"210921", "阜新蒙古族自治县第一小学", models.StagePrimary, "", 2, 25},
		{"210921", "阜新蒙古族自治县蒙古族中学", models.StageJunior, "", 2, 25},
		{"210922", "彰武县第一小学", models.StagePrimary, "", 2, 25},
		{"210922", "彰武县第二中学", models.StageJunior, "", 2, 25},
	}
}

func scaledSchools(n int) []schoolPlan {
	out := make([]schoolPlan, 0, n)
	stages := []string{models.StagePrimary, models.StagePrimary, models.StageJunior, models.StageNineYear}
	for i := 0; i < n; i++ {
		c := fuxinCounties[i%len(fuxinCounties)]
		stage := stages[i%len(stages)]
		out = append(out, schoolPlan{Region: c.Code, Name: fmt.Sprintf("%s第%d学校", c.Name, i/len(fuxinCounties)+1), Stage: stage,
			ClassesPerGrade: 2, StudentsPerClass: 30})
	}
	return out
}

// school creates one school with its term, classes, staff, students and
// guardians, and returns the Casbin grants to add.
func (d *District) school(ctx context.Context, db *gorm.DB, idx int, sp schoolPlan) ([][]string, error) {
	sc := models.School{RegionCode: sp.Region, Name: sp.Name, Stage: sp.Stage, Code: fmt.Sprintf("21%08d", 9000000+idx*7+1),
		OffWorkTime: "17:30", TimeZone: "Asia/Shanghai"}
	if err := db.Create(&sc).Error; err != nil {
		return nil, err
	}
	d.Schools = append(d.Schools, sc)
	term := models.Term{SchoolID: sc.ID, SchoolYear: "2026-2027", Semester: 1, Name: "2026—2027学年第一学期", StartDate: "2026-09-01", EndDate: "2027-01-22"}
	if err := db.Create(&term).Error; err != nil {
		return nil, err
	}
	d.Term[sc.ID] = &term
	var off []models.NoSchoolDay
	for _, day := range []string{"2026-09-25", "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2027-01-01"} {
		off = append(off, models.NoSchoolDay{SchoolID: sc.ID, TermID: term.ID, Date: day, Reason: "法定节假日"})
	}
	if err := db.Create(&off).Error; err != nil {
		return nil, err
	}
	dom := policies.SchoolDomain(sc.ID)
	var grants [][]string
	// Users get ids from blocks reserved up front and are written in bulk.
	ids := &idBlock{table: "users"}
	now := time.Now().UTC()
	var users [][]any
	user := func(username, name, role string) (*models.User, error) {
		id, err := ids.next(ctx, db)
		if err != nil {
			return nil, err
		}
		u := models.User{ID: id, Username: username, DisplayName: name, PasswordHash: d.hash, SchoolID: &sc.ID}
		users = append(users, []any{u.ID, u.Username, u.DisplayName, u.PasswordHash, sc.ID, false, now, now})
		grants = append(grants, []string{policies.UserSubject(u.ID), role, dom})
		return &u, nil
	}
	writeUsers := func() error {
		err := bulkInsert(ctx, db, "users", userCols, users)
		users = users[:0]
		return err
	}
	key := sp.Key
	if key == "" {
		key = fmt.Sprintf("s%d", sc.ID)
	}
	principal, err := user("principal."+key, personName(d.Rand)+"校长", policies.RolePrincipal)
	if err != nil {
		return nil, err
	}
	academic, err := user("academic."+key, personName(d.Rand)+"主任", policies.RoleAcademic)
	if err != nil {
		return nil, err
	}
	if sp.Key != "" {
		d.Accounts = append(d.Accounts, Account{principal.Username, policies.RolePrincipal, sc.Name, ""},
			Account{academic.Username, policies.RoleAcademic, sc.Name, ""})
	}
	// Classes, each with a head teacher (who also teaches 语文 there).
	var classes []models.Class
	for _, g := range sc.Grades() {
		for n := 1; n <= sp.ClassesPerGrade; n++ {
			classes = append(classes, models.Class{SchoolID: sc.ID, Grade: g, Number: n, Name: fmt.Sprintf("%d年级%d班", g, n)})
		}
	}
	for i := range classes {
		cl := &classes[i]
		uname := fmt.Sprintf("head.%s.%d-%d", key, cl.Grade, cl.Number)
		if sp.Key == "hz1" && cl.Grade == 4 && cl.Number == 1 {
			uname = "head.hz1"
		}
		h, err := user(uname, personName(d.Rand)+"老师", policies.RoleHeadTeacher)
		if err != nil {
			return nil, err
		}
		grants = append(grants, []string{policies.UserSubject(h.ID), policies.RoleTeacher, dom})
		cl.HeadTeacherID = &h.ID
		d.Teachers[sc.ID] = append(d.Teachers[sc.ID], h.ID)
		if uname == "head.hz1" {
			d.Accounts = append(d.Accounts, Account{uname, policies.RoleHeadTeacher, sc.Name, "4-1"})
		}
	}
	if err := writeUsers(); err != nil {
		return nil, err
	}
	if err := db.Create(&classes).Error; err != nil {
		return nil, err
	}
	var assignments []models.TeachingAssignment
	for _, cl := range classes {
		assignments = append(assignments, models.TeachingAssignment{SchoolID: sc.ID, TeacherID: *cl.HeadTeacherID, ClassID: cl.ID, SubjectID: d.Subjects["语文"].ID})
	}
	d.Classes[sc.ID] = classes
	// Subject teachers: one per subject per band of three grades; at hz1,
	// teacher.hz1 teaches 数学 in exactly 1-1, 4-1 and 8-1.
	var demoMath int64
	if sp.Key == "hz1" {
		t, err := user("teacher.hz1", personName(d.Rand)+"老师", policies.RoleTeacher)
		if err != nil {
			return nil, err
		}
		demoMath = t.ID
		d.Teachers[sc.ID] = append(d.Teachers[sc.ID], t.ID)
		d.Accounts = append(d.Accounts, Account{"teacher.hz1", policies.RoleTeacher, sc.Name, "数学 1-1, 4-1, 8-1"})
	}
	teacherOf := map[string]int64{}
	for _, cl := range classes {
		for _, subj := range SubjectsOfGrade(cl.Grade) {
			if subj == "语文" {
				continue
			}
			if demoMath != 0 && subj == "数学" && cl.Number == 1 && (cl.Grade == 1 || cl.Grade == 4 || cl.Grade == 8) {
				assignments = append(assignments, models.TeachingAssignment{SchoolID: sc.ID, TeacherID: demoMath, ClassID: cl.ID, SubjectID: d.Subjects[subj].ID})
				continue
			}
			band := fmt.Sprintf("%s/%d", subj, (cl.Grade-1)/3)
			tid, ok := teacherOf[band]
			if !ok {
				t, err := user(fmt.Sprintf("teacher.%s.%d", key, len(teacherOf)+1), personName(d.Rand)+"老师", policies.RoleTeacher)
				if err != nil {
					return nil, err
				}
				tid = t.ID
				teacherOf[band] = tid
				d.Teachers[sc.ID] = append(d.Teachers[sc.ID], tid)
			}
			assignments = append(assignments, models.TeachingAssignment{SchoolID: sc.ID, TeacherID: tid, ClassID: cl.ID, SubjectID: d.Subjects[subj].ID})
		}
	}
	if err := writeUsers(); err != nil {
		return nil, err
	}
	rows := make([][]any, len(assignments))
	for i, a := range assignments {
		rows[i] = []any{a.SchoolID, a.TeacherID, a.ClassID, a.SubjectID}
	}
	if err := bulkInsert(ctx, db, "teaching_assignments", []string{"school_id", "teacher_id", "class_id", "subject_id"}, rows); err != nil {
		return nil, err
	}
	// Students and one guardian account each, ids reserved in one block.
	groups := []string{"", "", "", "", "", "dual_working", "dual_working", "left_behind", "migrant", ""}
	var students []models.Student
	for _, cl := range classes {
		for i := 1; i <= sp.StudentsPerClass; i++ {
			students = append(students, models.Student{SchoolID: sc.ID, ClassID: cl.ID, Name: personName(d.Rand),
				StudentNo: fmt.Sprintf("%d%02d%02d%02d", sc.ID, cl.Grade, cl.Number, i), Gender: []string{"男", "女"}[d.Rand.IntN(2)],
				PriorityGroups: groups[d.Rand.IntN(len(groups))]})
		}
	}
	firstStudent, err := reserveIDs(ctx, db, "students", len(students))
	if err != nil {
		return nil, err
	}
	firstParent, err := reserveIDs(ctx, db, "users", len(students))
	if err != nil {
		return nil, err
	}
	rows = make([][]any, len(students))
	for i := range students {
		st := &students[i]
		st.ID = firstStudent + int64(i)
		rows[i] = []any{st.ID, st.SchoolID, st.ClassID, st.Name, st.StudentNo, st.Gender, st.PriorityGroups}
	}
	if err := bulkInsert(ctx, db, "students", []string{"id", "school_id", "class_id", "name", "student_no", "gender", "priority_groups"}, rows); err != nil {
		return nil, err
	}
	parentNames := make([]string, len(students))
	for i, st := range students {
		parentNames[i] = "parent." + st.StudentNo
	}
	if sp.Key == "hz1" {
		for i, st := range students {
			if cl := classByID(classes, st.ClassID); cl.Grade == 4 && cl.Number == 1 {
				parentNames[i] = "parent.hz1"
				d.Accounts = append(d.Accounts, Account{"parent.hz1", policies.RoleParent, sc.Name, st.Name + " (4-1)"})
				break
			}
		}
	}
	rows = make([][]any, len(students))
	links := make([][]any, len(students))
	for i, st := range students {
		pid := firstParent + int64(i)
		rows[i] = []any{pid, parentNames[i], st.Name + "家长", d.hash, sc.ID, false, now, now}
		links[i] = []any{sc.ID, pid, st.ID, []string{"父亲", "母亲"}[d.Rand.IntN(2)]}
		grants = append(grants, []string{policies.UserSubject(pid), policies.RoleParent, dom})
	}
	if err := bulkInsert(ctx, db, "users", userCols, rows); err != nil {
		return nil, err
	}
	if err := bulkInsert(ctx, db, "guardians", []string{"school_id", "user_id", "student_id", "relation"}, links); err != nil {
		return nil, err
	}
	return grants, nil
}

var userCols = []string{"id", "username", "display_name", "password_hash", "school_id", "disabled", "created_at", "updated_at"}

// idBlock hands out ids of a table from blocks reserved 64 at a time.
type idBlock struct {
	table      string
	next_, end int64
}

func (b *idBlock) next(ctx context.Context, db *gorm.DB) (int64, error) {
	if b.next_ == b.end {
		first, err := reserveIDs(ctx, db, b.table, 64)
		if err != nil {
			return 0, err
		}
		b.next_, b.end = first, first+64
	}
	b.next_++
	return b.next_ - 1, nil
}

func classByID(cs []models.Class, id int64) models.Class {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	return models.Class{}
}

// officials creates admin and bureau accounts.
func (d *District) officials(db *gorm.DB) ([][]string, error) {
	var grants [][]string
	for _, o := range []struct{ username, name, role, domain, scope string }{
		{"admin", "系统管理员", policies.RoleAdmin, policies.AllDomains, "*"},
		{"bureau.fuxin", "阜新市教育局", policies.RoleBureau, policies.RegionDomain("210900"), "阜新市 210900"},
		{"bureau.haizhou", "海州区教育局", policies.RoleBureau, policies.RegionDomain("210902"), "海州区 210902"},
	} {
		u := models.User{Username: o.username, DisplayName: o.name, PasswordHash: d.hash}
		if err := db.Create(&u).Error; err != nil {
			return nil, err
		}
		grants = append(grants, []string{policies.UserSubject(u.ID), o.role, o.domain})
		d.Accounts = append(d.Accounts, Account{o.username, o.role, o.scope, ""})
	}
	return grants, nil
}

// DemoAccounts lists the named demo accounts (for `demo` on a database that
// was seeded before).
func DemoAccounts() []Account {
	return []Account{{"admin", "admin", "*", ""}, {"bureau.fuxin", "bureau", "阜新市 210900", ""}, {"bureau.haizhou", "bureau", "海州区 210902", ""},
		{"principal.hz1", "principal", "阜新市海州区实验学校", ""}, {"academic.hz1", "academic", "阜新市海州区实验学校", ""},
		{"head.hz1", "head_teacher", "阜新市海州区实验学校", "4-1"}, {"teacher.hz1", "teacher", "阜新市海州区实验学校", "数学 1-1, 4-1, 8-1"},
		{"parent.hz1", "parent", "阜新市海州区实验学校", "4-1"}, {"principal.xq1", "principal", "阜新市新邱区第一小学", ""}}
}
