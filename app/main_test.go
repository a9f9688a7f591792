package app_test

import (
	"os"
	"testing"

	"jianfu/app/apptest"
)

func TestMain(m *testing.M) { os.Exit(apptest.Main(m)) }
