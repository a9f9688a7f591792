package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"
)

// A school's setup can be imported from one Excel workbook made from the
// template the setup page offers. The import is all or nothing: every row is
// checked (in the file, then against the database inside one transaction),
// every problem names its sheet, row and column, and unless there is none
// and the caller commits, the transaction is rolled back. A preview is the
// same run, rolled back — what it shows is what a commit does.

// SetupSheet is one sheet of the setup workbook, in workbook order.
type SetupSheet struct {
	Key     string
	Columns []string // column keys, in column order; a leading * marks a required one
}

// SetupWorkbook is the layout of the setup template. Labels come from the
// catalogs: "setup.sheet.<key>" and "setup.col.<key>.<column>".
var SetupWorkbook = []SetupSheet{
	{Key: "teachers", Columns: []string{"*username", "*display_name", "roles"}},
	{Key: "classes", Columns: []string{"*grade", "*number", "*name", "head_teacher"}},
	{Key: "assignments", Columns: []string{"*teacher", "*class", "*subject"}},
	{Key: "terms", Columns: []string{"*school_year", "*semester", "*name", "*start_date", "*end_date"}},
	{Key: "no_school_days", Columns: []string{"*school_year", "*semester", "*date", "reason"}},
	{Key: "students", Columns: []string{"*student_no", "*name", "*class", "gender"}},
	{Key: "guardians", Columns: []string{"*student_no", "*username", "*display_name", "relation"}},
}

// Label looks a catalog key up in the user's language.
type Label func(key string) string

// SetupProblem is one thing wrong with an imported workbook.
type SetupProblem struct {
	Sheet  string // the sheet's name as in the file
	Row    int    // 1-based, as Excel numbers rows; 0: the sheet itself
	Column string // the column's header as in the file; "" for a whole row
	Cell   string // A1-style reference, when one cell is at fault
	MsgID  string
	Params map[string]any
}

// SetupCounts says how many rows of each sheet an import creates.
type SetupCounts map[string]int

// SetupResult is what an import did (or, in a preview, would do).
type SetupResult struct {
	Counts    SetupCounts
	Problems  []SetupProblem
	Accounts  []CreatedAccount // accounts created, with one-time passwords (empty in a preview)
	Committed bool
}

// ErrSetupFile is the error of an import with problems; its Details carry
// "problems".
func setupError(problems []SetupProblem) *Error {
	return &Error{Kind: KindInvalid, Code: "setup_import_invalid", MsgID: "setup.import_invalid",
		Params: map[string]any{"N": len(problems)}, Details: map[string]any{"problems": problems}}
}

// WriteSetupTemplate writes the empty setup workbook with headers in the
// user's language, date and code columns formatted as text, and a last sheet
// explaining every column.
func WriteSetupTemplate(w io.Writer, label Label) error {
	f := excelize.NewFile()
	defer f.Close()
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"#E8EEF5"}}})
	if err != nil {
		return err
	}
	help := label("setup.sheet.help")
	for i, sh := range SetupWorkbook {
		name := label("setup.sheet." + sh.Key)
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		for j, c := range sh.Columns {
			col, _ := excelize.ColumnNumberToName(j + 1)
			key := strings.TrimPrefix(c, "*")
			h := label("setup.col." + sh.Key + "." + key)
			if strings.HasPrefix(c, "*") {
				h += " *"
			}
			if err := f.SetCellStr(name, col+"1", h); err != nil {
				return err
			}
			if err := f.SetColStyle(name, col, text); err != nil {
				return err
			}
			if err := f.SetColWidth(name, col, col, 18); err != nil {
				return err
			}
		}
		last, _ := excelize.ColumnNumberToName(len(sh.Columns))
		if err := f.SetCellStyle(name, "A1", last+"1", head); err != nil {
			return err
		}
	}
	if _, err := f.NewSheet(help); err != nil {
		return err
	}
	row := 1
	set := func(vals ...string) error {
		for j, v := range vals {
			col, _ := excelize.ColumnNumberToName(j + 1)
			if err := f.SetCellStr(help, fmt.Sprintf("%s%d", col, row), v); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	if err := set(label("setup.help.intro")); err != nil {
		return err
	}
	for _, sh := range SetupWorkbook {
		for _, c := range sh.Columns {
			key := strings.TrimPrefix(c, "*")
			if err := set(label("setup.sheet."+sh.Key), label("setup.col."+sh.Key+"."+key), label("setup.help."+sh.Key+"."+key)); err != nil {
				return err
			}
		}
	}
	_ = f.SetColWidth(help, "A", "B", 16)
	_ = f.SetColWidth(help, "C", "C", 70)
	return f.Write(w)
}

// setupRow is one data row of a sheet: its Excel row number and its cells by
// column key.
type setupRow struct {
	N     int
	Cells map[string]string
}

type setupSheetData struct {
	Name    string            // as in the file
	Headers map[string]string // column key → header as in the file
	Cols    map[string]string // column key → column letter
	Rows    []setupRow
}

// maxSetupRows bounds one sheet (a large school has a few thousand students).
const maxSetupRows = 20000

// readSetupWorkbook reads the sheets of the template by name (in the user's
// language or the other one) or, failing that, by position; it checks the
// header row and the required cells.
func readSetupWorkbook(r io.Reader, labels []Label) (map[string]*setupSheetData, []SetupProblem, error) {
	f, err := excelize.OpenReader(r, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, []SetupProblem{{MsgID: "setup.file_unreadable"}}, nil
	}
	defer f.Close()
	names := f.GetSheetList()
	out := map[string]*setupSheetData{}
	var problems []SetupProblem
	for i, sh := range SetupWorkbook {
		name := ""
		for _, n := range names {
			for _, l := range labels {
				if strings.TrimSpace(n) == l("setup.sheet."+sh.Key) {
					name = n
				}
			}
		}
		if name == "" && i < len(names) {
			name = names[i]
		}
		if name == "" {
			problems = append(problems, SetupProblem{Sheet: labels[0]("setup.sheet." + sh.Key), MsgID: "setup.sheet_missing"})
			continue
		}
		rows, err := f.GetRows(name)
		if err != nil {
			return nil, nil, err
		}
		d := &setupSheetData{Name: name, Headers: map[string]string{}, Cols: map[string]string{}}
		out[sh.Key] = d
		var header []string
		if len(rows) > 0 {
			header = rows[0]
		}
		for j, c := range sh.Columns {
			key := strings.TrimPrefix(c, "*")
			col, _ := excelize.ColumnNumberToName(j + 1)
			d.Cols[key] = col
			got := ""
			if j < len(header) {
				got = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(header[j]), "*"))
			}
			d.Headers[key] = got
			ok := false
			for _, l := range labels {
				ok = ok || got == l("setup.col."+sh.Key+"."+key)
			}
			if !ok {
				d.Headers[key] = labels[0]("setup.col." + sh.Key + "." + key)
				problems = append(problems, SetupProblem{Sheet: name, Row: 1, Column: d.Headers[key], Cell: col + "1",
					MsgID: "setup.header_wrong", Params: map[string]any{"Want": d.Headers[key], "Got": got}})
			}
		}
		if len(rows)-1 > maxSetupRows {
			problems = append(problems, SetupProblem{Sheet: name, MsgID: "setup.too_many_rows", Params: map[string]any{"Max": maxSetupRows}})
			continue
		}
		for k := 1; k < len(rows); k++ {
			cells := map[string]string{}
			empty := true
			for j, c := range sh.Columns {
				v := ""
				if j < len(rows[k]) {
					v = strings.TrimSpace(rows[k][j])
				}
				cells[strings.TrimPrefix(c, "*")] = v
				empty = empty && v == ""
			}
			if empty {
				continue
			}
			row := setupRow{N: k + 1, Cells: cells}
			for _, c := range sh.Columns {
				if key, req := strings.CutPrefix(c, "*"); req && cells[key] == "" {
					problems = append(problems, d.problem(row, key, "setup.cell_required", nil))
				}
			}
			d.Rows = append(d.Rows, row)
		}
	}
	return out, problems, nil
}

func (d *setupSheetData) problem(r setupRow, col, msgID string, params map[string]any) SetupProblem {
	p := SetupProblem{Sheet: d.Name, Row: r.N, MsgID: msgID, Params: params}
	if col != "" {
		p.Column, p.Cell = d.Headers[col], fmt.Sprintf("%s%d", d.Cols[col], r.N)
		if p.Params == nil {
			p.Params = map[string]any{}
		}
		if _, ok := p.Params["Value"]; !ok {
			p.Params["Value"] = r.Cells[col]
		}
	}
	return p
}

// setupDate reads a date cell: text YYYY-MM-DD or YYYY/M/D, or an Excel date
// serial (a cell someone formatted as a date).
func setupDate(s string) (string, bool) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 20000 && n < 80000 {
		t, err := excelize.ExcelDateToTime(n, false)
		if err != nil {
			return "", false
		}
		return t.Format(DateLayout), true
	}
	for _, layout := range []string{DateLayout, "2006/1/2", "2006-1-2", "2006.1.2"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(DateLayout), true
		}
	}
	return "", false
}

// setupInt reads a whole number cell ("3", or "3.0" from a numeric cell).
func setupInt(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int(f)) {
		return int(f), true
	}
	return 0, false
}

// parseClassLabel reads "4-1" (grade 4, class 1).
func parseClassLabel(s string) (grade, number int, ok bool) {
	a, b, found := strings.Cut(strings.ReplaceAll(s, "—", "-"), "-")
	if !found {
		return 0, 0, false
	}
	g, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	return g, n, err1 == nil && err2 == nil
}

// errPreview rolls a preview's transaction back.
var errPreview = errors.New("setup preview: roll back")

// ImportSetup checks the workbook against the school and, when commit is set
// and nothing is wrong, creates everything in it in one transaction. labels
// are the catalogs to match sheet names and headers against, the user's
// language first. With problems it returns the result and an invalid *Error
// carrying them; nothing is written.
func ImportSetup(ctx context.Context, db *gorm.DB, schoolID int64, r io.Reader, labels []Label, commit bool) (*SetupResult, error) {
	data, problems, err := readSetupWorkbook(r, labels)
	if err != nil {
		return nil, err
	}
	res := &SetupResult{Counts: SetupCounts{}}
	if data == nil || len(problems) > 0 {
		res.Problems = problems
		return res, setupError(problems)
	}
	var accounts []CreatedAccount
	err = Tx(ctx, db, func(tx *gorm.DB) error {
		imp := &setupImport{ctx: ctx, tx: tx, school: schoolID, data: data, labels: labels, res: res}
		if err := imp.run(); err != nil {
			return err
		}
		if len(res.Problems) > 0 {
			return setupError(res.Problems)
		}
		if !commit {
			return errPreview
		}
		accounts = imp.accounts
		return nil
	})
	switch {
	case errors.Is(err, errPreview):
		return res, nil
	case err != nil:
		return res, err
	}
	res.Accounts, res.Committed = accounts, true
	return res, nil
}

type setupImport struct {
	ctx      context.Context
	tx       *gorm.DB
	school   int64
	data     map[string]*setupSheetData
	labels   []Label
	res      *SetupResult
	accounts []CreatedAccount

	teachers map[string]int64 // username → id, from the file or the school
	classes  map[string]int64 // "4-1" → id
	terms    map[string]*Term // "2026-2027/1" → term
	students map[string]int64 // student no → id
}

// fail records a problem for a cell; a model *Error with a Field names the
// column it maps to (fields map form names onto this sheet's columns).
func (m *setupImport) fail(sheet string, r setupRow, col string, err error, fields map[string]string) error {
	e, ok := AsError(err)
	if !ok || e.Kind == KindNotFound && e.Field == "" {
		return err // a database error: the whole import fails, nothing is written
	}
	if c, ok := fields[e.Field]; ok {
		col = c
	}
	params := map[string]any{}
	for k, v := range e.Params {
		params[k] = v
	}
	m.res.Problems = append(m.res.Problems, m.data[sheet].problem(r, col, e.MsgID, params))
	return nil
}

func (m *setupImport) cellProblem(sheet string, r setupRow, col, msgID string) {
	m.res.Problems = append(m.res.Problems, m.data[sheet].problem(r, col, msgID, nil))
}

func (m *setupImport) run() error {
	m.teachers, m.classes, m.terms, m.students = map[string]int64{}, map[string]int64{}, map[string]*Term{}, map[string]int64{}
	if err := m.loadExisting(); err != nil {
		return err
	}
	steps := []func() error{m.importTeachers, m.importClasses, m.importAssignments, m.importTerms,
		m.importNoSchoolDays, m.importStudents, m.importGuardians}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// loadExisting lets rows refer to what the school has already.
func (m *setupImport) loadExisting() error {
	staff, err := StaffOfSchool(m.ctx, m.tx, m.school)
	if err != nil {
		return err
	}
	for _, s := range staff {
		m.teachers[s.User.Username] = s.User.ID
	}
	cls, err := ClassesOfSchool(m.ctx, m.tx, m.school)
	if err != nil {
		return err
	}
	for _, c := range cls {
		m.classes[c.Label()] = c.ID
	}
	terms, err := TermsOfSchool(m.ctx, m.tx, m.school)
	if err != nil {
		return err
	}
	for i := range terms {
		m.terms[fmt.Sprintf("%s/%d", terms[i].SchoolYear, terms[i].Semester)] = &terms[i]
	}
	var sts []Student
	if err := m.tx.Where("school_id = ?", m.school).Find(&sts).Error; err != nil {
		return err
	}
	for _, s := range sts {
		m.students[s.StudentNo] = s.ID
	}
	return nil
}

func (m *setupImport) importTeachers() error {
	for _, r := range m.data["teachers"].Rows {
		var roles []string
		bad := false
		for _, part := range strings.FieldsFunc(r.Cells["roles"], func(c rune) bool { return c == ',' || c == '，' || c == '、' || c == ' ' }) {
			role := m.roleOf(part)
			if role == "" {
				m.res.Problems = append(m.res.Problems, m.data["teachers"].problem(r, "roles", "user.role_unknown", map[string]any{"Role": part}))
				bad = true
				continue
			}
			roles = append(roles, role)
		}
		if bad {
			continue
		}
		acc, err := createStaffTx(m.ctx, m.tx, m.school, NewStaff{Username: r.Cells["username"], DisplayName: r.Cells["display_name"], Roles: roles})
		if err != nil {
			if err := m.fail("teachers", r, "username", err, map[string]string{"display_name": "display_name", "roles": "roles"}); err != nil {
				return err
			}
			continue
		}
		m.teachers[acc.User.Username] = acc.User.ID
		m.accounts = append(m.accounts, *acc)
		m.res.Counts["teachers"]++
	}
	return nil
}

// roleOf reads a role by code or by its name in any of the catalogs.
func (m *setupImport) roleOf(s string) string {
	for _, r := range StaffRoles {
		if s == r {
			return r
		}
		for _, l := range m.labels {
			if s == l("role."+r) {
				return r
			}
		}
	}
	return ""
}

func (m *setupImport) importClasses() error {
	for _, r := range m.data["classes"].Rows {
		g, ok1 := setupInt(r.Cells["grade"])
		n, ok2 := setupInt(r.Cells["number"])
		if !ok1 {
			m.cellProblem("classes", r, "grade", "setup.number_invalid")
		}
		if !ok2 {
			m.cellProblem("classes", r, "number", "setup.number_invalid")
		}
		var head int64
		if u := r.Cells["head_teacher"]; u != "" {
			if head = m.teachers[u]; head == 0 {
				m.cellProblem("classes", r, "head_teacher", "setup.teacher_unknown")
				continue
			}
		}
		if !ok1 || !ok2 {
			continue
		}
		cl, err := createClassTx(m.ctx, m.tx, m.school, NewClass{Grade: g, Number: n, Name: r.Cells["name"], HeadTeacherID: head})
		if err != nil {
			if err := m.fail("classes", r, "", err, map[string]string{"grade": "grade", "number": "number", "name": "name", "head_teacher_id": "head_teacher"}); err != nil {
				return err
			}
			continue
		}
		m.classes[cl.Label()] = cl.ID
		m.res.Counts["classes"]++
	}
	return nil
}

func (m *setupImport) classOf(sheet string, r setupRow, col string) int64 {
	g, n, ok := parseClassLabel(r.Cells[col])
	if !ok {
		m.cellProblem(sheet, r, col, "setup.class_label_invalid")
		return 0
	}
	id := m.classes[Class{Grade: g, Number: n}.Label()]
	if id == 0 {
		m.cellProblem(sheet, r, col, "setup.class_unknown")
	}
	return id
}

func (m *setupImport) importAssignments() error {
	subjects, err := Subjects(m.ctx, m.tx)
	if err != nil {
		return err
	}
	for _, r := range m.data["assignments"].Rows {
		tid := m.teachers[r.Cells["teacher"]]
		if tid == 0 {
			m.cellProblem("assignments", r, "teacher", "setup.teacher_unknown")
		}
		cid := m.classOf("assignments", r, "class")
		var sid int64
		for _, s := range subjects {
			if r.Cells["subject"] == s.Name || r.Cells["subject"] == s.Code || strings.EqualFold(r.Cells["subject"], s.NameEn) {
				sid = s.ID
			}
		}
		if sid == 0 {
			m.cellProblem("assignments", r, "subject", "setup.subject_unknown")
		}
		if tid == 0 || cid == 0 || sid == 0 {
			continue
		}
		if err := assignTeachingTx(m.ctx, m.tx, m.school, tid, cid, sid); err != nil {
			if err := m.fail("assignments", r, "", err, map[string]string{"teacher_id": "teacher", "class_id": "class", "subject_id": "subject"}); err != nil {
				return err
			}
			continue
		}
		m.res.Counts["assignments"]++
	}
	return nil
}

var termFields = map[string]string{"school_year": "school_year", "semester": "semester", "name": "name", "start_date": "start_date", "end_date": "end_date"}

func (m *setupImport) importTerms() error {
	for _, r := range m.data["terms"].Rows {
		sem, ok := setupInt(r.Cells["semester"])
		if !ok {
			m.cellProblem("terms", r, "semester", "setup.number_invalid")
			continue
		}
		start, ok1 := setupDate(r.Cells["start_date"])
		end, ok2 := setupDate(r.Cells["end_date"])
		if !ok1 {
			m.cellProblem("terms", r, "start_date", "setup.date_invalid")
		}
		if !ok2 {
			m.cellProblem("terms", r, "end_date", "setup.date_invalid")
		}
		if !ok1 || !ok2 {
			continue
		}
		n := NewTerm{SchoolYear: r.Cells["school_year"], Semester: sem, Name: r.Cells["name"], StartDate: start, EndDate: end}
		key := fmt.Sprintf("%s/%d", n.SchoolYear, sem)
		if err := n.Validate(); err != nil {
			if err := m.fail("terms", r, "", err, termFields); err != nil {
				return err
			}
			continue
		}
		t := &Term{SchoolID: m.school, SchoolYear: n.SchoolYear, Semester: n.Semester, Name: n.Name, StartDate: n.StartDate, EndDate: n.EndDate}
		if err := createTermTx(m.ctx, m.tx, t, nil); err != nil {
			if err := m.fail("terms", r, "", err, termFields); err != nil {
				return err
			}
			continue
		}
		m.terms[key] = t
		m.res.Counts["terms"]++
	}
	return nil
}

func (m *setupImport) importNoSchoolDays() error {
	seen := map[string]bool{}
	for _, r := range m.data["no_school_days"].Rows {
		sem, ok := setupInt(r.Cells["semester"])
		t := m.terms[fmt.Sprintf("%s/%d", r.Cells["school_year"], sem)]
		if !ok || t == nil {
			m.cellProblem("no_school_days", r, "semester", "setup.term_unknown")
			continue
		}
		d, ok := setupDate(r.Cells["date"])
		switch {
		case !ok:
			m.cellProblem("no_school_days", r, "date", "setup.date_invalid")
			continue
		case d < t.StartDate || d > t.EndDate:
			m.cellProblem("no_school_days", r, "date", "setup.day_outside_term")
			continue
		case seen[d]:
			m.cellProblem("no_school_days", r, "date", "setup.day_twice")
			continue
		}
		seen[d] = true
		var n int64
		if err := m.tx.Model(&NoSchoolDay{}).Where("school_id = ? AND date = ?", m.school, d).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			m.cellProblem("no_school_days", r, "date", "setup.day_twice")
			continue
		}
		row := NoSchoolDay{SchoolID: m.school, TermID: t.ID, Date: d, Reason: r.Cells["reason"]}
		if err := m.tx.Create(&row).Error; err != nil {
			return err
		}
		if err := Audit(m.ctx, m.tx, m.school, "create", "no_school_day", row.ID, nil, row); err != nil {
			return err
		}
		m.res.Counts["no_school_days"]++
	}
	return nil
}

func (m *setupImport) importStudents() error {
	for _, r := range m.data["students"].Rows {
		cid := m.classOf("students", r, "class")
		if cid == 0 {
			continue
		}
		st, err := createStudentTx(m.ctx, m.tx, m.school, NewStudent{ClassID: cid, Name: r.Cells["name"], StudentNo: r.Cells["student_no"], Gender: r.Cells["gender"]})
		if err != nil {
			if err := m.fail("students", r, "", err, map[string]string{"name": "name", "student_no": "student_no", "gender": "gender", "class_id": "class"}); err != nil {
				return err
			}
			continue
		}
		m.students[st.StudentNo] = st.ID
		m.res.Counts["students"]++
	}
	return nil
}

func (m *setupImport) importGuardians() error {
	for _, r := range m.data["guardians"].Rows {
		sid := m.students[r.Cells["student_no"]]
		if sid == 0 {
			m.cellProblem("guardians", r, "student_no", "setup.student_unknown")
			continue
		}
		acc, err := addGuardianTx(m.ctx, m.tx, m.school, NewGuardian{StudentID: sid, Username: r.Cells["username"], DisplayName: r.Cells["display_name"], Relation: r.Cells["relation"]})
		if err != nil {
			if err := m.fail("guardians", r, "", err, map[string]string{"username": "username", "display_name": "display_name", "relation": "relation", "student_id": "student_no"}); err != nil {
				return err
			}
			continue
		}
		if acc != nil {
			m.accounts = append(m.accounts, *acc)
		}
		m.res.Counts["guardians"]++
	}
	return nil
}
