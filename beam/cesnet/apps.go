package cesnet

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
)

// apps.csv is the DataZoo APP enum of CESNET-TLS-Year22 (200 services in enum
// order 1..200) with the reconstructed service category of each.
//
//go:embed apps.csv
var appsCSV string

// App is one labelled service of the dataset.
type App struct {
	Name     string
	Category string
	Enum     int // DataZoo APP enum value, 1..200
}

var (
	apps       []App
	appIndex   map[string]int
	categories []string
	catIndex   map[string]int
)

func init() {
	r := csv.NewReader(strings.NewReader(appsCSV))
	recs, err := r.ReadAll()
	if err != nil {
		panic(fmt.Sprintf("schema: embedded apps.csv: %v", err))
	}
	appIndex = make(map[string]int)
	catIndex = make(map[string]int)
	for i, rec := range recs[1:] {
		a := App{Name: rec[0], Category: rec[1], Enum: i + 1}
		appIndex[a.Name] = len(apps)
		apps = append(apps, a)
		if _, ok := catIndex[a.Category]; !ok {
			catIndex[a.Category] = len(categories)
			categories = append(categories, a.Category)
		}
	}
}

// Apps returns the 200 services in DataZoo enum order. The slice is a copy.
func Apps() []App { return append([]App(nil), apps...) }

// Categories returns the 23 service categories in DataZoo enum order.
func Categories() []string { return append([]string(nil), categories...) }

// LookupApp returns the service with the given APP tag.
func LookupApp(name string) (App, bool) {
	i, ok := appIndex[name]
	if !ok {
		return App{}, false
	}
	return apps[i], true
}

// CategoryIndex returns the position of a category in Categories, or -1.
func CategoryIndex(name string) int {
	i, ok := catIndex[name]
	if !ok {
		return -1
	}
	return i
}

// AppNames returns the service tags sorted alphabetically (the class order
// used by models).
func AppNames() []string {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Name
	}
	sort.Strings(names)
	return names
}
