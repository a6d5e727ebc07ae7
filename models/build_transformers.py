"""Build the two transformer examples and their data splits, each exported twice: by torch's
dynamo exporter and by its TorchScript exporter (the two graphs users bring differ: fused
LayerNormalization or Gelu against their decompositions, Shape/Range chains, Where masks).

    pip install -e '.[models]'   # torch==2.13.0 (CPU) and onnxscript: build-time only, zkml never imports them
    python models/build_transformers.py

Writes, next to this script:
- encoder_dynamo.onnx, encoder_ts.onnx: a 2-layer transformer encoder classifier (16 tokens of
  4 features, width 32, 4 heads, GELU, post-LayerNorm, mean pooling, 10 classes) trained on
  scikit-learn's bundled digits, each 8x8 image cut into 16 patches of 2x2 pixels (a linear
  embedding); encoder_calibration.npz (x) and encoder_test.npz (x, y; 200 held-out images).
- gpt_dynamo.onnx, gpt_ts.onnx: a GPT-style decoder (token embedding, learned positions, causal
  mask, 2 pre-LayerNorm blocks, vocabulary 32, prompts of 16 tokens) trained on a synthetic
  grammar (arithmetic progressions mod 32 and repeated short patterns); its output is the
  next-token logits after the prompt. gpt_calibration.npz (x: int64 token ids) and
  gpt_test.npz (x, y: the grammar's next token; 200 held-out prompts).
Deterministic: fixed seeds, one thread.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("build_transformers.py needs torch: pip install -e '.[models]' (torch==2.13.0, the CPU build, and onnxscript)")

HERE = Path(__file__).resolve().parent
SEQ, WIDTH, HEADS, FF = 16, 32, 4, 64
VOCAB = 32
N_TEST, N_CAL = 200, 64


class Attention(nn.Module):
    """Multi-head self-attention written out (q, k, v projections, scaled scores, softmax), so
    both exporters see the same computation; ``causal`` masks future positions with -inf."""

    def __init__(self, causal: bool):
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, WIDTH)
        self.causal = causal
        if causal:
            self.register_buffer("mask", torch.triu(torch.ones(SEQ, SEQ, dtype=torch.bool), 1), persistent=False)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(WIDTH, dim=-1)
        q, k, v = (z.view(b, t, HEADS, WIDTH // HEADS).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(WIDTH // HEADS)
        if self.causal:
            scores = scores.masked_fill(self.mask[:t, :t], float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, WIDTH))


class Block(nn.Module):
    def __init__(self, causal: bool):
        super().__init__()
        self.attn, self.ln1, self.ln2 = Attention(causal), nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.ff = nn.Sequential(nn.Linear(WIDTH, FF), nn.GELU(), nn.Linear(FF, WIDTH))
        self.pre = causal  # the decoder is pre-LN (GPT-2), the encoder post-LN (the original transformer)

    def forward(self, x):
        if self.pre:
            x = x + self.attn(self.ln1(x))
            return x + self.ff(self.ln2(x))
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.ff(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, WIDTH)
        self.pos = nn.Parameter(torch.randn(SEQ, WIDTH) * 0.1)
        self.blocks = nn.Sequential(Block(False), Block(False))
        self.head = nn.Linear(WIDTH, 10)

    def forward(self, x):  # (batch, 16, 4) -> (batch, 10)
        return self.head(self.blocks(self.embed(x) + self.pos).mean(dim=1))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok, self.pos = nn.Embedding(VOCAB, WIDTH), nn.Embedding(SEQ, WIDTH)
        self.blocks = nn.Sequential(Block(True), Block(True))
        self.ln, self.head = nn.LayerNorm(WIDTH), nn.Linear(WIDTH, VOCAB)

    def all_logits(self, ids):
        t = ids.shape[1]
        h = self.tok(ids) + self.pos(torch.arange(t, device=ids.device))
        return self.head(self.ln(self.blocks(h)))

    def forward(self, ids):  # (batch, 16) int64 -> (batch, 32): the next token's logits
        return self.all_logits(ids)[:, -1, :]


def digit_patches(images: np.ndarray) -> np.ndarray:
    """(n, 64) pixels in [0, 1] -> (n, 16, 4): 2x2 patches in row-major order."""
    return images.reshape(-1, 4, 2, 4, 2).transpose(0, 1, 3, 2, 4).reshape(-1, SEQ, 4).astype(np.float32)


def grammar(n: int, rng: np.random.Generator, length: int = SEQ + 1) -> np.ndarray:
    """n sequences of ``length`` tokens: half arithmetic progressions mod VOCAB (start and step
    1..4 random), half a random pattern of period 3..5 repeated."""
    out = np.empty((n, length), np.int64)
    for i in range(n):
        if rng.random() < 0.5:
            out[i] = (rng.integers(VOCAB) + rng.integers(1, 5) * np.arange(length)) % VOCAB
        else:
            p = int(rng.integers(3, 6))
            out[i] = np.resize(rng.integers(VOCAB, size=p), length)
    return out


def train(model: nn.Module, loss_of, steps: int, lr: float = 3e-3) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    model.train()
    for step in range(steps):
        loss = loss_of(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"  step {step}: loss {loss.item():.3f}", flush=True)
    model.eval()


def export(model: nn.Module, example: torch.Tensor, name: str, in_name: str) -> None:
    """Both exporters, batch dimension dynamic (zkml pins it to 1): {name}_dynamo.onnx, {name}_ts.onnx."""
    import onnx

    batch = torch.export.Dim("batch", min=1, max=1024)
    prog = torch.onnx.export(model, (example,), dynamo=True, input_names=[in_name], output_names=["logits"],
                             dynamic_shapes=({0: batch},), opset_version=18, verbose=False)
    prog.optimize()
    prog.save(str(HERE / f"{name}_dynamo.onnx"))
    torch.onnx.export(model, (example,), str(HERE / f"{name}_ts.onnx"), dynamo=False, input_names=[in_name],
                      output_names=["logits"], dynamic_axes={in_name: {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=17)
    for kind in ("dynamo", "ts"):
        path = HERE / f"{name}_{kind}.onnx"
        m = onnx.load(str(path))
        m.producer_name += " (zkml/models/build_transformers.py)"
        onnx.save(m, str(path))  # inline: one self-contained file each
        onnx.checker.check_model(m)
        ops = sorted({n.op_type for n in m.graph.node})
        print(f"  {path.name}: {path.stat().st_size:,} bytes, {len(m.graph.node)} nodes: {', '.join(ops)}")


def check_against_onnxruntime(name: str, model: nn.Module, x: np.ndarray, in_name: str) -> None:
    import onnxruntime as ort

    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    for kind in ("dynamo", "ts"):
        s = ort.InferenceSession(str(HERE / f"{name}_{kind}.onnx"), providers=["CPUExecutionProvider"])
        got = np.concatenate([s.run(None, {in_name: x[i:i + 1]})[0] for i in range(len(x))])
        print(f"  {name}_{kind}: max |onnxruntime - torch| = {np.abs(got - ref).max():.2e}, "
              f"argmax agreement {np.mean(got.argmax(1) == ref.argmax(1)):.3f}")


def encoder() -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = digit_patches(d.data / 16.0), d.target.astype(np.int64)
    idx = np.random.default_rng(1).permutation(len(x))
    te, cal, tr = idx[:N_TEST], idx[N_TEST:N_TEST + N_CAL], idx[N_TEST + N_CAL:]
    torch.manual_seed(0)
    model = Encoder()
    xt, yt = torch.from_numpy(x[tr]), torch.from_numpy(y[tr])
    g = torch.Generator().manual_seed(0)

    def loss_of(step):
        b = torch.randint(len(xt), (64,), generator=g)
        return F.cross_entropy(model(xt[b]), yt[b])

    print("encoder: training on", len(tr), "digits")
    train(model, loss_of, 1500)
    with torch.no_grad():
        acc = (model(torch.from_numpy(x[te])).argmax(1).numpy() == y[te]).mean()
    print(f"encoder: float test accuracy {acc:.3f} on {len(te)} held-out digits")
    np.savez(HERE / "encoder_calibration.npz", x=x[cal])
    np.savez(HERE / "encoder_test.npz", x=x[te], y=y[te])
    export(model, torch.from_numpy(x[:2]), "encoder", "x")
    check_against_onnxruntime("encoder", model, x[te], "x")


def gpt() -> None:
    rng = np.random.default_rng(2)
    data = grammar(20000, rng)
    test, cal = grammar(N_TEST, np.random.default_rng(3)), grammar(N_CAL, np.random.default_rng(4))
    torch.manual_seed(0)
    model = GPT()
    seqs = torch.from_numpy(data)
    g = torch.Generator().manual_seed(0)

    def loss_of(step):
        b = seqs[torch.randint(len(seqs), (128,), generator=g)]
        logits = model.all_logits(b[:, :-1])
        return F.cross_entropy(logits.reshape(-1, VOCAB), b[:, 1:].reshape(-1))

    print("gpt: training on the synthetic grammar")
    train(model, loss_of, 2000)
    with torch.no_grad():
        acc = (model(torch.from_numpy(test[:, :-1])).argmax(1).numpy() == test[:, -1]).mean()
    print(f"gpt: float next-token accuracy {acc:.3f} on {N_TEST} held-out prompts")
    np.savez(HERE / "gpt_calibration.npz", x=cal[:, :-1])
    np.savez(HERE / "gpt_test.npz", x=test[:, :-1], y=test[:, -1])
    export(model, torch.from_numpy(test[:2, :-1]), "gpt", "ids")
    check_against_onnxruntime("gpt", model, test[:, :-1], "ids")


if __name__ == "__main__":
    torch.set_num_threads(1)
    which = sys.argv[1:] or ["encoder", "gpt"]
    for w in which:
        {"encoder": encoder, "gpt": gpt}[w]()
