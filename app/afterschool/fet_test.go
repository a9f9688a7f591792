package afterschool_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
	"jianfu/scheduler"
)

// postFET uploads a FET file with form fields to path, as a bearer client
// (b == nil) or as a signed-in browser with the page's CSRF token.
func postFET(t *testing.T, e *apptest.Env, c *apptest.Client, b *apptest.Browser, page, path string, file []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if b != nil {
		w.WriteField("_csrf", apptest.CSRFFrom(t, page))
	}
	fw, _ := w.CreateFormFile("file", "school.fet")
	fw.Write(file)
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.HTTP.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	client := http.DefaultClient
	if b != nil {
		client = b.C
	} else {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// TestAfterschoolFETInAndOut: the school's programs download as a FET file
// we (and fet-cl, see scheduler's tests) read; a school's own FET file
// imports as programs through the API and the timetable page, which lists
// the constraints it does not enforce; another school's teacher refuses it.
func TestAfterschoolFETInAndOut(t *testing.T) {
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		hz1 := e.HZ1()
		ac := e.Login("academic.hz1")
		status, raw := ac.Raw(http.MethodGet, fmt.Sprintf("/api/v1/schools/%d/timetable.fet", hz1.ID), nil)
		if status != 200 {
			t.Fatalf("download: %d %s", status, raw)
		}
		f, err := scheduler.ReadFET(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("our own .fet does not read back: %v", err)
		}
		var slots int64
		e.DB.Model(&models.ProgramSlot{}).Where("school_id = ?", hz1.ID).Count(&slots)
		if int64(len(f.Activities)) != slots || len(f.Unsupported) != 0 {
			t.Errorf("%d activities for %d program slots; unsupported %v", len(f.Activities), slots, f.Unsupported)
		}

		// A teacher of hz1, by display name.
		var teacher models.User
		e.DB.Where("school_id = ? AND id IN (SELECT teacher_id FROM teaching_assignments WHERE school_id = ?)", hz1.ID, hz1.ID).Order("id").First(&teacher)
		file := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><fet version="6.8.5"><Mode>Official</Mode>
<Days_List><Number_of_Days>5</Number_of_Days><Day><Name>一</Name></Day><Day><Name>二</Name></Day><Day><Name>三</Name></Day><Day><Name>四</Name></Day><Day><Name>五</Name></Day></Days_List>
<Hours_List><Number_of_Hours>2</Number_of_Hours><Hour><Name>第1节</Name></Hour><Hour><Name>第2节</Name></Hour></Hours_List>
<Subjects_List><Subject><Name>围棋社</Name></Subject></Subjects_List>
<Teachers_List><Teacher><Name>%s</Name></Teacher></Teachers_List>
<Students_List><Year><Name>3年级</Name><Number_of_Students>30</Number_of_Students></Year></Students_List>
<Activities_List><Activity><Teacher>%s</Teacher><Subject>围棋社</Subject><Students>3年级</Students><Duration>1</Duration><Total_Duration>1</Total_Duration><Id>1</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity></Activities_List>
<Rooms_List></Rooms_List>
<Time_Constraints_List><ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
<ConstraintTeachersMaxHoursDaily><Weight_Percentage>100</Weight_Percentage><Maximum_Hours_Daily>4</Maximum_Hours_Daily><Active>true</Active></ConstraintTeachersMaxHoursDaily></Time_Constraints_List>
<Space_Constraints_List></Space_Constraints_List></fet>`, teacher.DisplayName, teacher.DisplayName)
		fields := map[string]string{"category": "arts", "first_start": "16:30", "period_minutes": "50", "capacity": "25"}
		status, raw = postFET(t, e, ac, nil, "", fmt.Sprintf("/api/v1/schools/%d/timetable/fet", hz1.ID), []byte(file), fields)
		var rep scheduler.FETImportReport
		_ = json.Unmarshal(raw, &rep)
		if status != 200 || len(rep.Programs) != 1 || rep.Slots != 1 || len(rep.Unsupported) != 1 || rep.Unsupported[0].Name != "ConstraintTeachersMaxHoursDaily" {
			t.Fatalf("import: %d %s", status, raw)
		}
		var p models.Program
		e.DB.First(&p, rep.Programs[0])
		var sl models.ProgramSlot
		e.DB.Where("program_id = ?", p.ID).First(&sl)
		if p.SchoolID != hz1.ID || p.Grades != "3" || p.Capacity != 25 || sl.StartTime < "16:30" || sl.EndTime > "18:10" {
			t.Errorf("program %+v slot %+v", p, sl)
		}

		// The page form shows the report, with the unsupported constraint by name.
		br := e.Browser()
		br.SignIn("academic.hz1")
		pagePath := fmt.Sprintf("/schools/%d/afterschool/timetable", hz1.ID)
		_, page := br.Get(pagePath)
		if !strings.Contains(page, `id="fet"`) {
			t.Fatal("no FET section on the timetable page")
		}
		status, raw = postFET(t, e, nil, br, page, pagePath+"/fet", []byte(strings.ReplaceAll(file, "围棋社", "象棋社")), fields)
		if status != 200 || !strings.Contains(string(raw), `id="fet-report"`) || !strings.Contains(string(raw), "ConstraintTeachersMaxHoursDaily") {
			t.Fatalf("page import: %d", status)
		}

		// A name that is not a teacher of hz1 refuses the file (400), nothing created.
		before := e.Count("programs", "school_id = ?", hz1.ID)
		status, raw = postFET(t, e, ac, nil, "", fmt.Sprintf("/api/v1/schools/%d/timetable/fet", hz1.ID), []byte(strings.ReplaceAll(file, teacher.DisplayName, "不在本校")), fields)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), "不在本校") || e.Count("programs", "school_id = ?", hz1.ID) != before {
			t.Fatalf("unknown teacher: %d %s", status, raw)
		}
		status, _ = postFET(t, e, ac, nil, "", fmt.Sprintf("/api/v1/schools/%d/timetable/fet", hz1.ID), []byte("<fet><nope/>"), fields)
		if status != http.StatusBadRequest {
			t.Fatalf("broken file: %d", status)
		}
	})
}
