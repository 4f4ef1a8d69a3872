package seqnet_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// Two services that differ in the size of their first packet.
func Example() {
	var rows []tablerow.FlowFeatures
	var labels []int
	for i := range 200 {
		ppi := make([]float32, seqnet.SeqLen*featuredef.PPIChannels)
		for p := range 5 {
			ppi[4*p+seqnet.ChanDir] = 1
			ppi[4*p+seqnet.ChanSize] = float32(100 + 50*p)
		}
		ppi[seqnet.ChanSize] = float32(200 + 800*(i%2)) // the class
		rows = append(rows, tablerow.FlowFeatures{PPI: ppi, Stats: make([]float32, len(featuredef.FeatureStats)), PHist: make([]float32, 32)})
		labels = append(labels, i%2)
	}
	b, err := seqnet.FeaturesBatch(rows, true)
	if err != nil {
		log.Fatal(err)
	}
	data := seqnet.Dataset{Batch: b, Labels: labels}
	m, err := seqnet.Train(context.Background(),
		seqnet.Config{Filters: []int{8}, Hidden: []int{8}},
		seqnet.TrainConfig{MaxEpochs: 10, BatchSize: 32, LearnRate: 1e-2, Seed: 1},
		[]string{"small-first", "large-first"}, data, data)
	if err != nil {
		log.Fatal(err)
	}
	probs, err := m.Predict(context.Background(), b.Slice(0, 2))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("flow 0: %s %.2f\n", m.Classes()[0], probs[0])
	fmt.Printf("flow 1: %s %.2f\n", m.Classes()[1], probs[3])

	dir, err := os.MkdirTemp("", "seqnet")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := m.Save(dir); err != nil { // seqnet.safetensors + seqnet.json
		log.Fatal(err)
	}
	// Output:
	// flow 0: small-first 1.00
	// flow 1: large-first 1.00
}
