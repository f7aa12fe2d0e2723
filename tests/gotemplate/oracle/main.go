// Command oracle renders a werf.yaml the way werf renders it: Go text/template,
// sprig v3 without expandenv, and werf's own functions and template data.
// It is the reference the Python renderer is compared with (tests/gotemplate).
//
// Usage: oracle [--loose-giterminism] [--env ENV] [--config REL]
//
//	[--config-templates-dir REL] PROJECT_DIR
//
// The rendered text goes to stdout; any error goes to stderr with exit code 1.
// Files are read from the working tree (like werf in loose giterminism mode).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/adler32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v2"
)

type options struct {
	loose        bool
	env          string
	config       string
	templatesDir string
	projectDir   string
}

func main() {
	opts, err := parseArgs()
	if err == nil {
		var out string
		if out, err = render(opts); err == nil {
			_, err = os.Stdout.WriteString(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func parseArgs() (options, error) {
	var o options
	flag.BoolVar(&o.loose, "loose-giterminism", false, "allow any env variable")
	flag.StringVar(&o.env, "env", "", "the value of .Env")
	flag.StringVar(&o.config, "config", "", "werf.yaml path relative to the project")
	flag.StringVar(&o.templatesDir, "config-templates-dir", "", "partials dir (default .werf)")
	flag.Parse()
	if flag.NArg() != 1 {
		return o, errors.New("usage: oracle [options] PROJECT_DIR")
	}
	dir, err := filepath.Abs(flag.Arg(0))
	o.projectDir = dir
	return o, err
}

// render mirrors werf's renderWerfConfigYaml.
func render(o options) (string, error) {
	allowed, err := readGiterminism(o.projectDir)
	if err != nil {
		return "", err
	}
	tmpl := template.New("werfConfig")
	tmpl.Funcs(funcMap(tmpl, o, allowed))
	if err := parsePartials(tmpl, o); err != nil {
		return "", fmt.Errorf("unable to read werf config templates: %w", err)
	}
	if err := parseConfig(tmpl, o); err != nil {
		return "", err
	}
	commit, err := headCommit(o.projectDir)
	if err != nil {
		return "", err
	}
	data := map[string]interface{}{
		"Files":  files{root: o.projectDir},
		"Env":    o.env,
		"Commit": commit,
	}
	return execute(tmpl, "werfConfig", data)
}

func execute(tmpl *template.Template, name string, data interface{}) (string, error) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// parsePartials adds every **/*.tmpl file of the templates dir, in werf's walk order,
// as a template named by its slash path relative to that dir.
func parsePartials(tmpl *template.Template, o options) error {
	dir := o.templatesDir
	if dir == "" {
		dir = ".werf"
	}
	names, err := listGlob(o.projectDir, dir, "**/*.tmpl")
	if err != nil {
		return err
	}
	for _, name := range names {
		content, err := readRegular(o.projectDir, filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if _, err := tmpl.New(filepath.ToSlash(name)).Parse(content); err != nil {
			return err
		}
	}
	return nil
}

func parseConfig(tmpl *template.Template, o options) error {
	candidates := []string{"werf.yaml", "werf.yml"}
	if o.config != "" {
		candidates = []string{o.config}
	}
	for _, rel := range candidates {
		if isRegular(o.projectDir, rel) {
			content, err := readRegular(o.projectDir, rel)
			if err != nil {
				return err
			}
			_, err = tmpl.Parse(content)
			return err
		}
	}
	return fmt.Errorf("unable to read werf config: the file %q not found in the project directory",
		candidates[0])
}

func funcMap(tmpl *template.Template, o options, allowedEnv []string) template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "expandenv")
	m["fromYaml"] = fromYaml
	m["toYaml"] = toYaml
	include := func(name string, data interface{}) (string, error) {
		return execute(tmpl, name, data)
	}
	tpl := func(text string, data interface{}) (string, error) {
		name := fmt.Sprintf("tpl-%d", adler32.Checksum([]byte(text)))
		if _, err := tmpl.New(name).Parse(text); err != nil {
			return "", err
		}
		return execute(tmpl, name, data)
	}
	m["include"], m["include_debug"] = include, include
	m["tpl"], m["tpl_debug"] = tpl, tpl
	m["printf_debug"] = func(string, ...interface{}) string { return "" }
	m["dump_debug"] = func(interface{}) string { return "" }
	m["required"] = required
	m["env"] = func(value interface{}, args ...string) (string, error) {
		return env(o.loose, allowedEnv, value, args)
	}
	return m
}

func fromYaml(str string) (map[string]interface{}, error) {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		return nil, err
	}
	return m, nil
}

func toYaml(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func required(msg string, val interface{}) (interface{}, error) {
	if s, ok := val.(string); val == nil || (ok && s == "") {
		return val, errors.New(msg)
	}
	return val, nil
}

func env(loose bool, allowed []string, value interface{}, args []string) (string, error) {
	if len(args) > 1 {
		return "", errors.New("more than 1 optional argument prohibited")
	}
	name := fmt.Sprint(value)
	if !loose {
		ok, err := envAllowed(allowed, name)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("the configuration with potential external dependency found "+
				"in the werf config: env name %q not allowed by giterminism", name)
		}
	}
	val, found := os.LookupEnv(name)
	switch {
	case (!found || val == "") && len(args) == 1:
		return args[0], nil
	case !found && !loose:
		return "", fmt.Errorf("the environment variable %q must be set or default must be provided",
			name)
	}
	return val, nil
}

// envAllowed: an entry is a name, or /regexp/ matched against the whole name.
func envAllowed(allowed []string, name string) (bool, error) {
	for _, pattern := range allowed {
		if len(pattern) >= 2 && strings.HasPrefix(pattern, "/") && strings.HasSuffix(pattern, "/") {
			re, err := regexp.Compile("^" + pattern[1:len(pattern)-1] + "$")
			if err != nil {
				return false, err
			}
			if re.MatchString(name) {
				return true, nil
			}
		} else if pattern == name {
			return true, nil
		}
	}
	return false, nil
}

type giterminismConfig struct {
	Version interface{} `yaml:"giterminismConfigVersion"`
	Config  struct {
		GoTemplateRendering struct {
			AllowEnvVariables []string `yaml:"allowEnvVariables"`
		} `yaml:"goTemplateRendering"`
	} `yaml:"config"`
}

// readGiterminism returns config.goTemplateRendering.allowEnvVariables of
// werf-giterminism.yaml (werf's default path; there is no .yml fallback).
func readGiterminism(root string) ([]string, error) {
	const rel = "werf-giterminism.yaml"
	if !isRegular(root, rel) {
		return nil, nil
	}
	content, err := readRegular(root, rel)
	if err != nil {
		return nil, err
	}
	var c giterminismConfig
	if err := yaml.Unmarshal([]byte(content), &c); err != nil {
		return nil, fmt.Errorf("the giterminism config validation failed: %w", err)
	}
	if v := fmt.Sprint(c.Version); v != "1" {
		return nil, fmt.Errorf("the giterminism config validation failed: "+
			"giterminismConfigVersion must be 1, got %q", v)
	}
	return c.Config.GoTemplateRendering.AllowEnvVariables, nil
}

// headCommit gives .Commit like werf: go-git's author time (time.Unix in the commit's
// offset, parsed the way go-git parses it) printed with Time.String().
func headCommit(root string) (map[string]interface{}, error) {
	commit := map[string]interface{}{
		"Hash": "", "Date": map[string]string{"Human": "", "Unix": ""},
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		return commit, nil
	}
	out, err := exec.Command("git", "-C", root, "log", "-1", "--date=raw",
		"--format=%H %ad").Output()
	if err != nil {
		return nil, fmt.Errorf("unable to get HEAD commit: %w", err)
	}
	var hash, tz string
	var ts int64
	if _, err := fmt.Sscan(string(out), &hash, &ts, &tz); err != nil {
		return nil, fmt.Errorf("unable to parse HEAD commit %q: %w", out, err)
	}
	when := time.Unix(ts, 0).In(time.UTC)
	if zone, err := time.Parse("2006 -0700", "1970 "+tz); err == nil {
		when = when.In(zone.Location())
	}
	commit["Hash"] = hash
	commit["Date"] = map[string]string{
		"Human": when.String(), "Unix": strconv.FormatInt(when.Unix(), 10),
	}
	return commit, nil
}

// files is .Files: paths are relative to the project directory (working tree).
type files struct{ root string }

func (f files) Get(rel string) string {
	content, err := readRegular(f.root, rel)
	if err != nil {
		panic(fmt.Sprintf("{{ .Files.Get %q }}: %s", rel, err))
	}
	return content
}

func (f files) Glob(pattern string) map[string]interface{} {
	names, err := listGlob(f.root, "", pattern)
	if err != nil {
		panic(err.Error())
	}
	result := map[string]interface{}{}
	for _, name := range names {
		content, err := readRegular(f.root, name)
		if err != nil {
			panic(err.Error())
		}
		result[filepath.ToSlash(name)] = content
	}
	return result
}

func (f files) Exists(rel string) bool {
	_, err := os.Stat(filepath.Join(f.root, rel))
	return err == nil
}

func (f files) IsDir(rel string) bool {
	info, err := os.Stat(filepath.Join(f.root, rel))
	return err == nil && info.IsDir()
}

func isRegular(root, rel string) bool {
	info, err := os.Stat(filepath.Join(root, rel))
	return err == nil && info.Mode().IsRegular()
}

func readRegular(root, rel string) (string, error) {
	if !isRegular(root, rel) {
		return "", fmt.Errorf("the file %q not found in the project directory",
			filepath.ToSlash(filepath.Clean(rel)))
	}
	data, err := os.ReadFile(filepath.Join(root, rel))
	return string(data), err
}
