package config

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// Masked returns a copy of the config with secrets hidden, safe to print
// or log: fields tagged `secret:"true"` become "********" and URLs tagged
// `secret:"userinfo"` lose their password and their query's values (a
// feed's API key). Slices of structs are copied before they are masked.
func (c *Config) Masked() *Config {
	out := *c
	v := reflect.ValueOf(&out).Elem()
	maskSecrets(v)
	return &out
}

func maskSecrets(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch f.Tag.Get("secret") {
		case "true":
			if fv.Kind() == reflect.String && fv.String() != "" {
				fv.SetString("********")
			}
			continue
		case "list":
			if fv.Kind() == reflect.Slice && fv.Len() > 0 {
				fv.Set(reflect.ValueOf([]string{"********"}))
			}
			continue
		case "userinfo":
			if fv.Kind() == reflect.String {
				fv.SetString(redactURL(fv.String()))
			}
			continue
		}
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != durationType:
			maskSecrets(fv)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct && fv.Len() > 0:
			cp := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
			reflect.Copy(cp, fv) // the original's elements stay unmasked
			for j := 0; j < cp.Len(); j++ {
				maskSecrets(cp.Index(j))
			}
			fv.Set(cp)
		}
	}
}

// YAML renders the config (secrets masked) as YAML, the form `parapet
// check` prints.
func (c *Config) YAML() ([]byte, error) {
	return yaml.Marshal(c.Masked())
}
