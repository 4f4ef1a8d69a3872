"""PyTorch peers of seqnet's CNN and LSTM for `make bench-seqnet`.

Reads the rows BenchmarkSeqnetPeer exported (<split>_ppi.f32 N×30×4,
<split>_flow.f32 N×F, <split>_y.i32, <split>.json), trains

* cnn: the same kind of net as seqnet's Model: PPI (IPT, dir, size, push),
  sizes clipped to [1, 1500] and IPTs to [0, 65000] then standardised on the
  training rows' real packets, padding zero; conv 1×k "same" + ReLU, masked
  after every layer; masked max and mean over time, joined with the
  standardised flow vector (NaN → 0, clipped to ±20); dense ReLU layers;
  softmax;
* lstm: the seed's masked LSTM (IPT, dir, size → units → softmax), padding
  skipped (packed sequences), gradient norm clipped at 5 as ours;

with Adam, class-weighted cross-entropy (n/(K·n_c) capped), shuffled
minibatches, early stopping on the validation loss (patience), best weights
kept, and prints a JSON list of results; the test predictions go to
<model>_pred.i32 for the Go side to score.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

SEQ = 30
IPT, DIR, SIZE, PUSH = 0, 1, 2, 3


def load(d, split):
    with open(os.path.join(d, split + ".json")) as fh:
        meta = json.load(fh)
    n, f = meta["rows"], meta["flow_dim"]
    ppi = np.fromfile(os.path.join(d, split + "_ppi.f32"), dtype="<f4").reshape(n, SEQ, 4)
    flow = np.fromfile(os.path.join(d, split + "_flow.f32"), dtype="<f4").reshape(n, f)
    y = np.fromfile(os.path.join(d, split + "_y.i32"), dtype="<i4").astype(np.int64)
    return ppi, flow, y, meta


class Scaler:
    """Fitted on the training rows as seqnet's fitScalers."""

    def __init__(self, ppi, flow):
        real = ppi[:, :, DIR] != 0
        size = np.clip(ppi[:, :, SIZE][real].astype(np.float64), 1, 1500)
        ipt = np.clip(ppi[:, :, IPT][real].astype(np.float64), 0, 65000)
        self.size = (size.mean(), size.std() or 1.0)
        self.ipt = (ipt.mean(), ipt.std() or 1.0)
        f = flow.astype(np.float64)
        self.fmean = np.nanmean(f, axis=0)
        fstd = np.nanstd(f, axis=0)
        self.fstd = np.where((fstd < 1e-6) | np.isnan(fstd), 1.0, fstd)
        self.fmean = np.nan_to_num(self.fmean)

    def __call__(self, ppi, flow):
        mask = (ppi[:, :, DIR] != 0).astype(np.float32)
        x = ppi.copy()
        x[:, :, SIZE] = (np.clip(x[:, :, SIZE], 1, 1500) - self.size[0]) / self.size[1]
        x[:, :, IPT] = (np.clip(x[:, :, IPT], 0, 65000) - self.ipt[0]) / self.ipt[1]
        x *= mask[:, :, None]
        f = (flow.astype(np.float64) - self.fmean) / self.fstd
        f = np.clip(np.nan_to_num(f, nan=0.0), -20, 20)
        return (torch.from_numpy(x.astype(np.float32)), torch.from_numpy(mask),
                torch.from_numpy(f.astype(np.float32)))


class CNN(nn.Module):
    def __init__(self, channels, filters, kernel, hidden, flow_dim, k):
        super().__init__()
        self.channels = channels
        self.convs = nn.ModuleList()
        cin = len(channels)
        for f in filters:
            self.convs.append(nn.Conv1d(cin, f, kernel, padding=kernel // 2))
            cin = f
        layers, width = [], 2 * cin + flow_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, k))
        self.dense = nn.Sequential(*layers)
        for m in self.modules():  # as seqnet: He-normal, Glorot for the logits, zero biases
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.xavier_normal_(layers[-1].weight)

    def forward(self, x, mask, flow):
        h = x[:, :, self.channels].transpose(1, 2)  # (B, C, T)
        m = mask[:, None, :]
        for conv in self.convs:
            h = torch.relu(conv(h)) * m
        mx = h.max(dim=2).values
        mean = h.sum(dim=2) / mask.sum(dim=1).clamp(min=1)[:, None]
        return self.dense(torch.cat([mx, mean, flow], dim=1))


class MMCesnet(nn.Module):
    """mm-CESNET's layout (cesnet-models' Multimodal_CESNET), narrowed to fit
    the CPU: a PPI conv branch (IPT, dir, size; conv 7 then 5-wide "same"
    convs, ReLU + BatchNorm after each, then two valid convs and a strided
    one, GeM pooling, BatchNorm, dropout 0.1) beside a flow-stats MLP branch
    (Linear, ReLU, BatchNorm ×3, dropout 0.1), joined into a shared Linear,
    ReLU, BatchNorm, dropout 0.2, then the classifier. No masking: padding
    is zero after scaling, as in CESNET's transforms."""

    def __init__(self, c1, c2, flow_dim, mlp, shared, k):
        super().__init__()

        def conv(cin, cout, kw, stride=1, pad=0, bn=True):
            layers = [nn.Conv1d(cin, cout, kw, stride=stride, padding=pad), nn.ReLU()]
            return layers + ([nn.BatchNorm1d(cout)] if bn else [])

        self.cnn = nn.Sequential(*conv(3, c1, 7, pad=3), *conv(c1, c1, 5, pad=2), *conv(c1, c1, 5, pad=2),
                                 *conv(c1, c2, 5), *conv(c2, c2, 5), *conv(c2, c2, 4, stride=2, bn=False))
        self.p = nn.Parameter(torch.ones(1) * 3)
        self.cnn_out = nn.Sequential(nn.BatchNorm1d(c2), nn.Dropout(0.1))
        self.mlp = nn.Sequential(nn.Linear(flow_dim, mlp), nn.ReLU(), nn.BatchNorm1d(mlp),
                                 nn.Linear(mlp, mlp), nn.ReLU(), nn.BatchNorm1d(mlp),
                                 nn.Linear(mlp, mlp), nn.ReLU(), nn.BatchNorm1d(mlp), nn.Dropout(0.1))
        self.shared = nn.Sequential(nn.Linear(c2 + mlp, shared), nn.ReLU(), nn.BatchNorm1d(shared), nn.Dropout(0.2))
        self.out = nn.Linear(shared, k)

    def forward(self, x, mask, flow):
        h = self.cnn(x[:, :, [IPT, DIR, SIZE]].transpose(1, 2))
        h = h.clamp(min=1e-6).pow(self.p).mean(dim=2).pow(1.0 / self.p)  # GeM over the 10 outputs
        h = self.cnn_out(h)
        return self.out(self.shared(torch.cat([h, self.mlp(flow)], dim=1)))


class LSTM(nn.Module):
    def __init__(self, channels, units, k):
        super().__init__()
        self.channels = channels
        self.lstm = nn.LSTM(len(channels), units, batch_first=True)
        self.out = nn.Linear(units, k)
        with torch.no_grad():  # forget-gate bias 1, as ours
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[units:2 * units] = 1

    def forward(self, x, mask, flow):
        lengths = mask.sum(dim=1).clamp(min=1).long()
        packed = nn.utils.rnn.pack_padded_sequence(x[:, :, self.channels], lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.out(h[-1])


def class_weights(y, k, cap):
    counts = np.bincount(y, minlength=k).astype(np.float64)
    present = (counts > 0).sum()
    w = np.ones(k)
    nz = counts > 0
    w[nz] = np.minimum(len(y) / (present * counts[nz]), cap)
    return torch.tensor(w, dtype=torch.float32)


def fit(model, train, val, epochs, batch, lr, patience, weights, clip, seed, schedule):
    x, m, f, y = train
    vx, vm, vf, vy = val
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    per_epoch = (len(y) + batch - 1) // batch
    total = epochs * per_epoch

    def factor(step):  # seqnet's TrainConfig.stepSize
        if schedule != "cosine":
            return 1.0
        return min(1.0, (step + 1) / per_epoch) * 0.5 * (1 + math.cos(math.pi * step / total))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    loss_fn = nn.CrossEntropyLoss(weight=weights)  # Σ w_y ℓ / Σ w_y, as ours
    g = torch.Generator().manual_seed(seed)
    best, best_loss, since, run, best_epoch = None, math.inf, 0, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(y), generator=g)
        for s in range(0, len(y), batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx], m[idx], f[idx]), y[idx])
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            sched.step()
        run = epoch
        model.eval()
        with torch.no_grad():
            vl = loss_fn(predict_logits(model, vx, vm, vf), vy).item()
        if vl < best_loss:
            best_loss, since, best_epoch = vl, 0, epoch
            best = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
        if since >= patience:
            break
    model.load_state_dict(best)
    return run, best_epoch


def predict_logits(model, x, m, f, batch=4096):
    return torch.cat([model(x[s:s + batch], m[s:s + batch], f[s:s + batch]) for s in range(0, len(x), batch)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--max-class-weight", type=float, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--filters", default="32,32")
    ap.add_argument("--kernel", type=int, default=5)
    ap.add_argument("--hidden", default="64")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--lstm-lr", type=float, default=3e-3)
    ap.add_argument("--schedule", default="constant")
    ap.add_argument("--lstm-schedule", default="constant")
    ap.add_argument("--models", default="cnn,lstm")
    ap.add_argument("--mm-conv1", type=int, default=64)
    ap.add_argument("--mm-conv2", type=int, default=96)
    ap.add_argument("--mm-mlp", type=int, default=128)
    ap.add_argument("--mm-shared", type=int, default=256)
    ap.add_argument("--mm-lr", type=float, default=3e-3)
    ap.add_argument("--mm-schedule", default="cosine")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tr, va, te = (load(a.dir, s) for s in ("train", "val", "test"))
    k = len(tr[3]["classes"])
    sc = Scaler(tr[0], tr[1])
    train = (*sc(tr[0], tr[1]), torch.from_numpy(tr[2]))
    val = (*sc(va[0], va[1]), torch.from_numpy(va[2]))
    test = sc(te[0], te[1])
    weights = class_weights(tr[2], k, a.max_class_weight)
    ints = lambda s: [int(v) for v in s.split(",") if v]
    results = []
    for name in a.models.split(","):
        if name == "cnn":
            model = CNN([IPT, DIR, SIZE, PUSH], ints(a.filters), a.kernel, ints(a.hidden), tr[1].shape[1], k)
            arch, lr, clip, schedule = f"conv {ints(a.filters)} k{a.kernel}, dense {ints(a.hidden)}", a.lr, 0, a.schedule
        elif name == "mmcesnet":
            model = MMCesnet(a.mm_conv1, a.mm_conv2, tr[1].shape[1], a.mm_mlp, a.mm_shared, k)
            arch = f"mm-CESNET layout, conv {a.mm_conv1}/{a.mm_conv2}, mlp {a.mm_mlp}, shared {a.mm_shared}"
            lr, clip, schedule = a.mm_lr, 0, a.mm_schedule
        elif name == "lstm":
            model = LSTM([IPT, DIR, SIZE], a.units, k)
            arch, lr, clip, schedule = f"lstm {a.units} units", a.lstm_lr, 5, a.lstm_schedule
        else:
            raise SystemExit(f"unknown model {name}")
        c0, w0 = time.process_time(), time.time()
        run, best = fit(model, train, val, a.epochs, a.batch, lr, a.patience, weights, clip, a.seed, schedule)
        cpu, wall = time.process_time() - c0, time.time() - w0
        model.eval()
        c1 = time.process_time()
        with torch.no_grad():
            pred = predict_logits(model, *test).argmax(dim=1).numpy().astype("<i4")
        pcpu = max(time.process_time() - c1, 1e-9)
        out = f"torch_{name}_pred.i32"
        pred.tofile(os.path.join(a.dir, out))
        results.append({"model": f"PyTorch {name}", "arch": arch, "epochs": run, "best_epoch": best,
                        "train_cpu_s": cpu, "train_wall_s": wall, "predict_rows_per_cpu_s": len(pred) / pcpu,
                        "pred_file": out})
        print(f"peer: {name}: {run} epochs (best {best}) in {cpu:.1f} CPU-s", flush=True, file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
