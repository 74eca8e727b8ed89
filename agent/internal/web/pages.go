// The page templates (templates/pages.html, embedded: no build step, no CDN).

package web

import (
	"embed"
	"html/template"
	"time"
)

//go:embed templates/pages.html
var templateFS embed.FS

// headData is what the shared page head needs.
type headData struct {
	Title   string
	HasHost bool
}

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"age":   age,
	"until": func(now, t time.Time) string { return t.Sub(now).Round(time.Second).String() },
	"page":  func(title string, hasHost bool) headData { return headData{title, hasHost} },
}).ParseFS(templateFS, "templates/pages.html"))
