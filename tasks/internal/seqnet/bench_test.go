package seqnet

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the process's user + system CPU time. The machine is
// shared, so the benchmarks also report throughput per CPU second, which
// wall-clock numbers under load understate.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchClasses is about the service classifier's class count.
const benchClasses = 180

// benchData makes n rows of the sequence task with labels spread over
// benchClasses classes.
func benchData(b *testing.B, n int) (Dataset, []string) {
	rows, _ := synth(9, n, 4, seqTask, nil)
	d := dataset(b, rows, nil)
	d.Labels = make([]int, n)
	for i := range d.Labels {
		d.Labels[i] = i % benchClasses
	}
	classes := make([]string, benchClasses)
	for i := range classes {
		classes[i] = string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	return d, classes
}

// BenchmarkTrain measures training throughput in samples/s of the default
// network (conv 64-64, kernel 5, dense 128, 180 classes, batch 256) and of
// the classify member's smaller one (conv 32-32, dense 64).
func BenchmarkTrain(b *testing.B) {
	d, classes := benchData(b, 2048)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"default", Config{}}, {"small", Config{Filters: []int{32, 32}, Hidden: []int{64}}}} {
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := cpuTime(b)
			var samples int
			for b.Loop() {
				m, err := Train(context.Background(), bc.cfg, TrainConfig{MaxEpochs: 1, Seed: 1}, classes, d, Dataset{})
				if err != nil {
					b.Fatal(err)
				}
				samples += d.Len()
				m.Close()
			}
			b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(samples)/(cpuTime(b)-cpu0).Seconds(), "samples/cpu-s")
		})
	}
}

// BenchmarkPredict measures inference throughput in rows/s of the default
// network and of a smaller one (conv 32-32, dense 64).
func BenchmarkPredict(b *testing.B) {
	d, classes := benchData(b, 4096)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{{"default", Config{}}, {"small", Config{Filters: []int{32, 32}, Hidden: []int{64}}}} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := Train(context.Background(), bc.cfg, TrainConfig{MaxEpochs: 1, Seed: 1}, classes, d.slice(0, 512), Dataset{})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			var rows int
			for b.Loop() {
				if _, err := m.Predict(context.Background(), d.Batch); err != nil {
					b.Fatal(err)
				}
				rows += d.Len()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/(cpuTime(b)-cpu0).Seconds(), "rows/cpu-s")
		})
	}
}

// BenchmarkTrainLSTM measures training throughput of the default LSTM (64
// units, 180 classes, batch 256) in samples/s.
func BenchmarkTrainLSTM(b *testing.B) {
	d, classes := benchData(b, 2048)
	cpu0 := cpuTime(b)
	var samples int
	for b.Loop() {
		if _, err := TrainLSTM(context.Background(), LSTMConfig{}, TrainConfig{MaxEpochs: 1, Seed: 1}, classes, d, Dataset{}); err != nil {
			b.Fatal(err)
		}
		samples += d.Len()
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(samples)/(cpuTime(b)-cpu0).Seconds(), "samples/cpu-s")
}
