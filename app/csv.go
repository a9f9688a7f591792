package app

import "strings"

// CSVText makes a text cell safe for a spreadsheet: a cell starting with
// = + - @ (or a tab or carriage return) is read as a formula by Excel and
// LibreOffice, so a school or teacher named "=HYPERLINK(…)" would run in the
// bureau's spreadsheet. Such a cell gets a leading apostrophe (OWASP's
// advice). Numbers written by the exporter do not go through it.
func CSVText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
