package models

import (
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Input checks shared by the binder, the importers and the models: a NUL
// byte, invalid UTF-8, NaN or ±Inf, or an integer out of range is a 400 that
// names the field, never a 500 from the database or a stored value that
// breaks every later read.

// CheckText refuses a NUL byte or invalid UTF-8 in a text field.
func CheckText(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fieldError("error.field_nul", field, nil)
	}
	if !utf8.ValidString(s) {
		return fieldError("error.field_utf8", field, nil)
	}
	return nil
}

// CheckFinite refuses NaN and ±Inf.
func CheckFinite(field string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fieldError("error.field_not_finite", field, nil)
	}
	return nil
}

// CheckRange refuses n outside [min, max].
func CheckRange(field string, n, min, max int64) error {
	if n < min || n > max {
		return fieldError("error.field_out_of_range", field, map[string]any{"Min": min, "Max": max})
	}
	return nil
}

// CheckInt32 refuses an integer a 32-bit column (INTEGER) cannot hold.
func CheckInt32(field string, n int64) error {
	return CheckRange(field, n, math.MinInt32, math.MaxInt32)
}

func fieldError(msgID, field string, params map[string]any) *Error {
	if params == nil {
		params = map[string]any{}
	}
	params["Field"] = field
	e := Invalid(msgID, params)
	e.Code = "validation_failed"
	e.Details = map[string]any{"fields": map[string]any{field: strings.TrimPrefix(msgID, "error.field_")}}
	return e
}

// CheckValues walks a decoded request (a struct, pointer, slice or map of
// them) and applies CheckText to every string, CheckFinite to every float
// and CheckInt32 to every int (an int64 is an id and passes). Field names are the json
// names, with the path for nested values ("items[2].points").
func CheckValues(v any) error {
	return checkValue(reflect.ValueOf(v), "")
}

func checkValue(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkValue(v.Elem(), path)
	case reflect.String:
		return CheckText(nameOr(path), v.String())
	case reflect.Float32, reflect.Float64:
		return CheckFinite(nameOr(path), v.Float())
	case reflect.Int, reflect.Int32:
		// Counts, minutes, fees: their columns are INTEGER (32-bit on
		// PostgreSQL); ids are int64 and pass.
		return CheckInt32(nameOr(path), v.Int())
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := jsonName(f)
			if name == "-" {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			if f.Anonymous {
				p = path
			}
			if err := checkValue(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw bytes
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkValue(v.Index(i), path+"["+itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			if k.Kind() == reflect.String {
				if err := CheckText(nameOr(path), k.String()); err != nil {
					return err
				}
			}
			if err := checkValue(it.Value(), path); err != nil {
				return err
			}
		}
	}
	return nil
}

func nameOr(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func jsonName(f reflect.StructField) string {
	for _, tag := range []string{"json", "form", "query"} {
		if n := strings.SplitN(f.Tag.Get(tag), ",", 2)[0]; n != "" {
			return n
		}
	}
	return f.Name
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
