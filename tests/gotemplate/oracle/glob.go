package main

// werf's glob listing (giterminism_manager/file_reader listFilesWithGlob with its
// path_matcher include and base-path matchers), on the working tree.
// Globs use the doublestar v4 dialect: `*`, `?`, `[...]`/`[!...]`, `{a,b}`, `\` escapes,
// and `**` as a whole path component matching zero or more components.

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// listGlob lists the files under relDir matching glob, as paths relative to relDir,
// in filepath.Walk order.
func listGlob(root, relDir, glob string) ([]string, error) {
	prefix, rest := splitLiteralPrefix(glob)
	start := filepath.Join(relDir, prefix)
	m := matcher{base: cleanPath(start), glob: cleanPath(rest)}
	var result []string
	add := func(rel string) error {
		ok, err := m.matches(rel)
		if ok {
			relToDir, _ := filepath.Rel(filepath.Join(root, relDir), filepath.Join(root, rel))
			result = append(result, relToDir)
		}
		return err
	}
	if isRegular(root, start) {
		return result, add(start)
	}
	err := walk(root, start, m, add)
	return result, err
}

func walk(root, start string, m matcher, add func(string) error) error {
	if ok, err := m.dirMatches(start); !ok || err != nil {
		return err
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(root, start))
	if err != nil {
		return nil
	}
	if info, err := os.Stat(resolved); err != nil || !info.IsDir() {
		return nil
	}
	return filepath.Walk(resolved, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		inside, _ := filepath.Rel(resolved, p)
		rel := filepath.Join(start, inside)
		ok, err := m.dirMatches(rel)
		if err != nil {
			return err
		}
		if !ok || filepath.Base(rel) == ".git" {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info.Mode()&os.ModeSymlink != 0 {
			if target, err := os.Stat(p); err == nil && target.IsDir() {
				return walk(root, rel, m, add)
			}
		} else if info.IsDir() {
			return nil
		}
		return add(rel)
	})
}

// splitLiteralPrefix splits off the leading path components without glob characters.
func splitLiteralPrefix(glob string) (string, string) {
	parts := splitPath(glob)
	i := 0
	for i < len(parts) && !strings.ContainsAny(parts[i], `*?[{\`) {
		i++
	}
	if i == 0 {
		return "", glob
	}
	return filepath.Join(parts[:i]...), filepath.Join(parts[i:]...)
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(filepath.Clean(p), "/")
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

func cleanPath(p string) string {
	if p == "" || p == "." || p == "/" {
		return ""
	}
	return filepath.Clean(p)
}

// trimTrailingStars drops trailing components made only of `*`: a/*/b/**/* -> a/*/b.
func trimTrailingStars(glob string) string {
	parts := splitPath(glob)
	for len(parts) > 0 && strings.TrimRight(parts[len(parts)-1], "*") == "" {
		parts = parts[:len(parts)-1]
	}
	return path.Join(parts...)
}

// matcher is werf's base-path matcher wrapped around one include glob.
type matcher struct{ base, glob string }

// relToBase returns the path relative to base and whether it is base or below it.
func (m matcher) relToBase(p string) (string, bool) {
	p = cleanPath(p)
	if m.base == "" {
		return p, true
	}
	if p == m.base {
		return "", true
	}
	if strings.HasPrefix(p, m.base+"/") {
		return p[len(m.base)+1:], true
	}
	return "", false
}

func (m matcher) matches(p string) (bool, error) {
	rel, under := m.relToBase(p)
	if !under {
		return false, nil
	}
	return globMatchesPath(m.glob, rel)
}

// dirMatches is werf's IsDirOrSubmodulePathMatched: matched, or worth walking into.
func (m matcher) dirMatches(p string) (bool, error) {
	if ok, err := m.matches(p); ok || err != nil {
		return ok, err
	}
	p = cleanPath(p)
	if m.base != "" && (p == "" || strings.HasPrefix(m.base, p+"/")) {
		return true, nil
	}
	rel, under := m.relToBase(p)
	if !under {
		return false, nil
	}
	return m.partiallyMatched(rel)
}

// partiallyMatched is werf's shouldGoThrough: the dir's components consume a prefix
// of the glob and some glob remains that is not made only of stars.
func (m matcher) partiallyMatched(rel string) (bool, error) {
	if m.glob == "." || trimTrailingStars(m.glob) == "" {
		return false, nil
	}
	if rel == "" {
		return true, nil
	}
	inProgress := m.glob
	for _, part := range splitPath(rel) {
		globParts := splitPath(inProgress)
		ok, err := doublestarMatch(globParts[0], part)
		if err != nil || !ok {
			return false, err
		}
		if !strings.Contains(globParts[0], "**") {
			if len(globParts) == 1 {
				return false, nil
			}
			inProgress = filepath.Join(globParts[1:]...)
		}
	}
	return trimTrailingStars(inProgress) != "", nil
}

// globMatchesPath is werf's isPathMatched: the glob, the glob without trailing star
// components, or that plus /**/* (so a matching directory matches all files below it).
func globMatchesPath(glob, p string) (bool, error) {
	trimmed := trimTrailingStars(glob)
	for _, g := range []string{glob, trimmed, filepath.Join(trimmed, "**", "*")} {
		ok, err := doublestarMatch(g, p)
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// doublestarMatch matches a slash path against a doublestar pattern.
func doublestarMatch(pattern, name string) (bool, error) {
	alternatives, err := expandBraces(pattern)
	if err != nil {
		return false, err
	}
	for _, alt := range alternatives {
		ok, err := matchComponents(strings.Split(alt, "/"), strings.Split(name, "/"))
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func matchComponents(pattern, name []string) (bool, error) {
	if len(pattern) == 0 {
		return len(name) == 0, nil
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if ok, err := matchComponents(pattern[1:], name[i:]); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	if len(name) == 0 {
		return false, nil
	}
	ok, err := path.Match(strings.ReplaceAll(pattern[0], "[!", "[^"), name[0])
	if !ok || err != nil {
		return false, err
	}
	return matchComponents(pattern[1:], name[1:])
}

// expandBraces turns a{b,c}d into [abd acd], nesting allowed.
func expandBraces(pattern string) ([]string, error) {
	start := strings.IndexByte(pattern, '{')
	if start < 0 {
		return []string{pattern}, nil
	}
	depth, alternatives, from := 0, []string{}, start+1
	for i := start; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			depth++
		case ',':
			if depth == 1 {
				alternatives = append(alternatives, pattern[from:i])
				from = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				alternatives = append(alternatives, pattern[from:i])
				var result []string
				for _, alt := range alternatives {
					expanded, err := expandBraces(pattern[:start] + alt + pattern[i+1:])
					if err != nil {
						return nil, err
					}
					result = append(result, expanded...)
				}
				return result, nil
			}
		}
	}
	return nil, path.ErrBadPattern
}
