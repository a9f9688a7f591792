package admin

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"jianfu/app"
	"jianfu/models"
	"jianfu/policies"
	"jianfu/views"
)

// School setup in the browser: the admin (any school) and the school's
// principal add terms with no-school days, staff, classes, teaching
// assignments, students and guardians by form, or all at once from the
// Excel template (checked and previewed, then committed all or nothing).
// Every refusal draws the setup page again with what was typed, the message
// next to the field and status 422.

func (s *handlers) setupRoutes() {
	g := s.r.Group("/schools/:school/setup")
	perm := app.Allow("setup", "write", app.SchoolParam("school"))
	s.r.Route(g, http.MethodGet, "", s.setupPage, perm)
	s.r.Route(g, http.MethodGet, "/template.xlsx", s.setupTemplate, perm)
	s.r.Route(g, http.MethodPost, "/terms", s.setupTerm, perm)
	s.r.Route(g, http.MethodPost, "/staff", s.setupStaff, perm)
	s.r.Route(g, http.MethodPost, "/classes", s.setupClass, perm)
	s.r.Route(g, http.MethodPost, "/assignments", s.setupAssignment, perm)
	s.r.Route(g, http.MethodPost, "/students", s.setupStudent, perm)
	s.r.Route(g, http.MethodPost, "/guardians", s.setupGuardian, perm)
	s.r.Route(g, http.MethodPost, "/import", s.setupImport(false), perm)
	s.r.Route(g, http.MethodPost, "/import/commit", s.setupImport(true), perm)
	s.r.Route(s.r.Group("/admin"), http.MethodPost, "/regions", s.adminCreateRegion, app.Allow("region", "write", nil))
}

// setupHomeLink is the principal's tile to the school's setup page.
func setupHomeLink() app.HomeLink {
	return app.HomeLink{Role: policies.RolePrincipal, Label: "setup.link", Icon: "🧩", URL: func(g models.Grant) string {
		_, key, _ := policies.ParseDomain(g.Domain)
		return "/schools/" + key + "/setup"
	}}
}

type setupTerm struct {
	Term models.Term
	Days []models.NoSchoolDay
}

type setupClass struct {
	models.Class
	Label    string
	Head     string
	Students int
}

type setupCount struct {
	Label string
	N     int
}

type setupProblem struct {
	Sheet, Column, Cell, Message string
	Row                          int
}

type setupImportView struct {
	Counts    []setupCount
	Problems  []setupProblem
	File, Sum string // the previewed file, sent back to commit it
	Committed bool
}

type setupData struct {
	School       models.School
	Base         string
	Terms        []setupTerm
	Staff        []models.StaffMember
	ExtraRoles   []string
	Classes      []setupClass
	Grades       []int
	Subjects     []models.Subject
	Students     []models.StudentRow
	StudentCount int
	Created      []models.CreatedAccount
	Import       *setupImportView
	Form         *views.Form
}

func (s *handlers) loadSetup(c echo.Context) (*setupData, error) {
	ctx := c.Request().Context()
	id := app.TargetOf(c).SchoolID
	sc, err := models.GetSchool(ctx, s.DB, id)
	if err != nil {
		return nil, err
	}
	d := &setupData{School: *sc, Base: fmt.Sprintf("/schools/%d/setup", sc.ID), Grades: sc.Grades(), ExtraRoles: []string{policies.RoleAcademic, policies.RolePrincipal}}
	terms, err := models.TermsOfSchool(ctx, s.DB, sc.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range terms {
		days, err := models.NoSchoolDaysOfTerm(ctx, s.DB, sc.ID, t.ID)
		if err != nil {
			return nil, err
		}
		d.Terms = append(d.Terms, setupTerm{Term: t, Days: days})
	}
	if d.Staff, err = models.StaffOfSchool(ctx, s.DB, sc.ID); err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, m := range d.Staff {
		names[m.User.ID] = m.User.DisplayName
	}
	if d.Students, err = models.StudentsOfSchool(ctx, s.DB, sc.ID); err != nil {
		return nil, err
	}
	d.StudentCount = len(d.Students)
	perClass := map[string]int{}
	for _, st := range d.Students {
		perClass[st.Class]++
	}
	classes, err := models.ClassesOfSchool(ctx, s.DB, sc.ID)
	if err != nil {
		return nil, err
	}
	for _, cl := range classes {
		v := setupClass{Class: cl, Label: cl.Label(), Students: perClass[cl.Label()]}
		if cl.HeadTeacherID != nil {
			v.Head = names[*cl.HeadTeacherID]
		}
		d.Classes = append(d.Classes, v)
	}
	if d.Subjects, err = models.Subjects(ctx, s.DB); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *handlers) renderSetup(c echo.Context, status int, d *setupData, msg string) error {
	if len(d.Created) > 0 {
		c.Response().Header().Set("Cache-Control", "no-store") // one-time passwords
	}
	return s.RenderWithError(c, status, "admin/setup", "setup.title", msg, d)
}

func (s *handlers) setupPage(c echo.Context) error {
	d, err := s.loadSetup(c)
	if err != nil {
		return err
	}
	return s.renderSetup(c, http.StatusOK, d, "")
}

// setupPost runs one setup form: write, then back to the page (303 with a
// flash), or the page again with the refusal next to the form's fields.
func (s *handlers) setupPost(c echo.Context, form, anchor, flash string, write func(schoolID int64) (*models.CreatedAccount, error)) error {
	id := app.TargetOf(c).SchoolID
	acc, err := write(id)
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			d, derr := s.loadSetup(c)
			if derr != nil {
				return derr
			}
			d.Form = fe.Form(c, form)
			return s.renderSetup(c, fe.Status, d, fe.Message)
		})
	}
	if err := s.Authz.PolicyChanged(); err != nil {
		return err
	}
	if acc != nil { // a one-time password: shown on this answer only
		d, err := s.loadSetup(c)
		if err != nil {
			return err
		}
		d.Created = []models.CreatedAccount{*acc}
		p := s.Page(c, "setup.title", d)
		p.Flash = app.Translator(c).T(flash)
		c.Response().Header().Set("Cache-Control", "no-store")
		return s.RenderPageModel(c, http.StatusCreated, "admin/setup", p)
	}
	return app.RedirectWithFlash(c, fmt.Sprintf("/schools/%d/setup#%s", id, anchor), flash)
}

func formInt(c echo.Context, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(c.FormValue(name)))
	return n
}

func formID(c echo.Context, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(c.FormValue(name)), 10, 64)
	return n
}

func (s *handlers) setupTerm(c echo.Context) error {
	return s.setupPost(c, "term", "terms", "setup.term_added", func(id int64) (*models.CreatedAccount, error) {
		_, err := models.CreateTerm(c.Request().Context(), s.DB, id, models.NewTerm{SchoolYear: c.FormValue("school_year"), Semester: formInt(c, "semester"),
			Name: c.FormValue("name"), StartDate: c.FormValue("start_date"), EndDate: c.FormValue("end_date"),
			NoSchoolDays: models.ParseNoSchoolDays(c.FormValue("no_school_days"))})
		return nil, err
	})
}

func (s *handlers) setupStaff(c echo.Context) error {
	return s.setupPost(c, "staff", "staff", "setup.staff_added", func(id int64) (*models.CreatedAccount, error) {
		if err := c.Request().ParseForm(); err != nil {
			return nil, models.Invalid("error.bad_request", nil)
		}
		return models.CreateStaff(c.Request().Context(), s.DB, id, models.NewStaff{Username: c.FormValue("username"),
			DisplayName: c.FormValue("display_name"), Roles: c.Request().Form["roles"]})
	})
}

func (s *handlers) setupClass(c echo.Context) error {
	return s.setupPost(c, "class", "classes", "setup.class_added", func(id int64) (*models.CreatedAccount, error) {
		_, err := models.CreateClass(c.Request().Context(), s.DB, id, models.NewClass{Grade: formInt(c, "grade"), Number: formInt(c, "number"),
			Name: c.FormValue("name"), HeadTeacherID: formID(c, "head_teacher_id")})
		return nil, err
	})
}

func (s *handlers) setupAssignment(c echo.Context) error {
	return s.setupPost(c, "assignment", "assignments", "setup.assignment_added", func(id int64) (*models.CreatedAccount, error) {
		return nil, models.AssignTeaching(c.Request().Context(), s.DB, id, formID(c, "teacher_id"), formID(c, "class_id"), formID(c, "subject_id"))
	})
}

func (s *handlers) setupStudent(c echo.Context) error {
	return s.setupPost(c, "student", "students", "setup.student_added", func(id int64) (*models.CreatedAccount, error) {
		_, err := models.CreateStudent(c.Request().Context(), s.DB, id, models.NewStudent{ClassID: formID(c, "class_id"), Name: c.FormValue("name"),
			StudentNo: c.FormValue("student_no"), Gender: c.FormValue("gender")})
		return nil, err
	})
}

func (s *handlers) setupGuardian(c echo.Context) error {
	return s.setupPost(c, "guardian", "students", "setup.guardian_added", func(id int64) (*models.CreatedAccount, error) {
		ctx := c.Request().Context()
		var st models.Student
		no := strings.TrimSpace(c.FormValue("student_no"))
		if err := s.DB.WithContext(ctx).Where("school_id = ? AND student_no = ?", id, no).Limit(1).Find(&st).Error; err != nil {
			return nil, err
		}
		if st.ID == 0 {
			return nil, models.InvalidField("student_no", "setup.student_unknown", nil)
		}
		return models.AddGuardian(ctx, s.DB, id, models.NewGuardian{StudentID: st.ID, Username: c.FormValue("username"),
			DisplayName: c.FormValue("display_name"), Relation: c.FormValue("relation")})
	})
}

// setupLabels are the catalogs an uploaded workbook's names may be in, the
// user's language first.
func setupLabels(c echo.Context) []models.Label {
	tr := app.Translator(c)
	out := []models.Label{tr.Text}
	for _, l := range views.Languages {
		if l != tr.Lang {
			out = append(out, views.NewTranslator(l).Text)
		}
	}
	return out
}

func (s *handlers) setupTemplate(c echo.Context) error {
	var buf bytes.Buffer
	if err := models.WriteSetupTemplate(&buf, app.Translator(c).Text); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="school-setup.xlsx"`)
	return c.Blob(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buf.Bytes())
}

// maxSetupFile bounds an uploaded workbook (a school of 3,000 students with
// guardians is about 300 KB).
const maxSetupFile = 4 << 20

func fileSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// setupImport checks (commit false: a preview) or imports an uploaded
// workbook. The preview sends the file back in the page, so the commit
// imports exactly what was previewed; the commit checks everything again.
func (s *handlers) setupImport(commit bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		tr := app.Translator(c)
		var file []byte
		if commit {
			b, err := base64.StdEncoding.DecodeString(c.FormValue("file"))
			if err != nil || len(b) == 0 || fileSum(b) != c.FormValue("sum") {
				return s.setupImportRefused(c, models.InvalidField("file", "setup.file_changed", nil))
			}
			file = b
		} else {
			fh, err := c.FormFile("file")
			if err != nil {
				return s.setupImportRefused(c, models.InvalidField("file", "setup.file_required", nil))
			}
			f, err := fh.Open()
			if err != nil {
				return err
			}
			defer f.Close()
			if file, err = io.ReadAll(io.LimitReader(f, maxSetupFile+1)); err != nil {
				return err
			}
			if len(file) > maxSetupFile {
				return s.setupImportRefused(c, models.InvalidField("file", "setup.file_unreadable", nil))
			}
		}
		id := app.TargetOf(c).SchoolID
		res, err := models.ImportSetup(c.Request().Context(), s.DB, id, bytes.NewReader(file), setupLabels(c), commit)
		if res == nil {
			return err
		}
		d, derr := s.loadSetup(c)
		if derr != nil {
			return derr
		}
		v := &setupImportView{Committed: res.Committed}
		for _, sh := range models.SetupWorkbook {
			if n := res.Counts[sh.Key]; n > 0 {
				v.Counts = append(v.Counts, setupCount{Label: tr.T("setup.sheet." + sh.Key), N: n})
			}
		}
		for _, p := range res.Problems {
			v.Problems = append(v.Problems, setupProblem{Sheet: p.Sheet, Row: p.Row, Column: p.Column, Cell: p.Cell, Message: tr.T(p.MsgID, p.Params)})
		}
		d.Import = v
		if err != nil {
			return s.FormFailure(c, err, func(fe app.FormError) error {
				return s.renderSetup(c, fe.Status, d, fe.Message)
			})
		}
		if commit {
			if err := s.Authz.PolicyChanged(); err != nil {
				return err
			}
			d.Created = res.Accounts
			return s.renderSetup(c, http.StatusOK, d, "")
		}
		v.File, v.Sum = base64.StdEncoding.EncodeToString(file), fileSum(file)
		return s.renderSetup(c, http.StatusOK, d, "")
	}
}

func (s *handlers) setupImportRefused(c echo.Context, err error) error {
	return s.FormFailure(c, err, func(fe app.FormError) error {
		d, derr := s.loadSetup(c)
		if derr != nil {
			return derr
		}
		d.Form = fe.Form(c, "import")
		return s.renderSetup(c, fe.Status, d, fe.Message)
	})
}

// --- regions ---------------------------------------------------------------

func (s *handlers) adminCreateRegion(c echo.Context) error {
	r, err := models.CreateRegion(c.Request().Context(), s.DB, models.NewRegion{Code: c.FormValue("code"), Name: c.FormValue("name"), ParentCode: c.FormValue("parent_code")})
	if err != nil {
		return s.FormFailure(c, err, func(fe app.FormError) error {
			return s.renderRegions(c, fe.Status, fe.Form(c, "region"), fe.Message)
		})
	}
	return app.RedirectWithFlash(c, "/admin/regions#region-"+r.Code, "admin.regions.created")
}
