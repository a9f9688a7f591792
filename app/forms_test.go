package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"jianfu/app/apptest"
	"jianfu/models"
)

// TestValidationNamesFieldsInTheUsersLanguage: a validation failure names
// the fields by their labels (it said 「输入有误：title, minutes」).
func TestValidationNamesFieldsInTheUsersLanguage(t *testing.T) {
	e := apptest.New(t, models.SQLite)
	cl := e.Class(e.HZ1().ID, 4, 1)
	status, body := e.Login("teacher.hz1").Do(http.MethodPost, fmt.Sprintf("/api/v1/classes/%d/homework", cl.ID), map[string]any{"subject": "数学", "date": "2026-11-26"})
	msg, _ := body["message"].(string)
	if status != http.StatusBadRequest || !strings.Contains(msg, "作业内容") || strings.Contains(msg, "title") || strings.Contains(msg, "minutes") {
		t.Fatalf("validation message: %d %q", status, msg)
	}
}
