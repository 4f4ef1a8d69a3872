// Package seqnet owns the service classifier's sequence members: a 1D
// convolutional network over a flow's packet sequence (PPI) with the flow
// statistics joined before the dense layers (Model), the seed design's
// masked LSTM over the sequence alone (LSTM, see lstm.go) and CESNET's
// multimodal mm-CESNET layout, a PPI conv branch beside a flow-statistics MLP
// branch with batch norms and GeM pooling (MM, see mm.go); their training
// (Adam, class-weighted cross-entropy, early stopping, an optional cosine
// step-size schedule) and their files. Both run in plain Go: im2col and
// matrix products (gemm: a packed, 6×16 register-tiled kernel in Go
// assembly where the CPU has AVX2 and FMA, gonum's kernels elsewhere or with
// the purego build tag; no cgo, on the calling goroutine, without
// allocating per flow), backpropagation written out and checked against
// central differences. The
// same network as a gorgonia graph (newNet) is kept as a test's cross-check
// of the forward pass.
//
// # Model
//
// Inputs per flow are the PPI of schema.FlowFeatures (30 packets × 4
// channels, packet-major, dir 0 = padding) and a flow-level vector (the
// statistics and optionally the PHIST histograms; see FeaturesBatch). The
// selected PPI channels are scaled first: sizes are clipped to [1, 1500] and
// inter-packet times to [0, 65000] ms, as CESNET does, then standardised with a
// mean and deviation fitted on the training rows' real packets; direction and
// push flags are used as they are. Padding positions are set to zero for every
// channel, whatever they held, so a flow's prediction depends only on its real
// packets.
//
//	PPI (B, C, 1, 30) ─ conv 1×k, ReLU, ·mask ─ … ─┬─ masked max over time ─┐
//	                                               └─ masked mean over time ┴─ concat ─ dense, ReLU ─ … ─ softmax (K)
//	flow vector (B, F), standardised ──────────────────────────────────────────┘
//
// Convolutions keep the length ("same" zero padding) and every conv output is
// multiplied by the mask, so padding stays zero through the stack and the
// mean divides by the number of real packets.
//
// # Training
//
// Train minimises the class-weighted cross-entropy (weights n/(K·n_c), capped)
// with Adam over shuffled minibatches, evaluates the validation set after each
// epoch (the same weighted loss and the macro-F1), keeps the weights of the
// epoch with the lowest validation loss and stops after Patience epochs
// without improvement. The same seed gives the same model.
//
// # Files
//
// A model is two files: weights in safetensors format (an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian float32 data; readable by Python's safetensors) and a JSON
// config with the architecture, the fitted scalers and the class list. Weight
// layouts: conv<i>.weight is (out, in, 1, k) like PyTorch's Conv2d,
// dense<i>.weight is (in, out) — the transpose of PyTorch's Linear.
package seqnet
