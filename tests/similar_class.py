"""A class for testing `grade similar`: the MLP samples, two solutions written independently of them (and
of each other), and near-copies of some of them made the ways students disguise a copy."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "assignments" / "mlp" / "mlp.ipynb"
SAMPLES = ROOT / "examples" / "submissions" / "mlp"

# Two correct MLP solutions, each written from the assignment's text alone, in two students' styles.
INDEPENDENT = {
    "indep_plain": {
        "linear-forward": '''def linear_forward(X, w, b):
    """Predictions y_hat = X w + b for X (N, D), w (D,), b ()."""
    return torch.matmul(X, w) + b
''',
        "mse-loss": '''def mse_loss(y_hat, y):
    """Mean squared error between predictions y_hat (N,) and targets y (N,), as a 0-d tensor."""
    errors = (y_hat - y) ** 2
    return errors.sum() / len(y)
''',
        "mse-gradients": '''def mse_gradients(X, y, w, b):
    """(dL/dw (D,), dL/db ()) of mse_loss(linear_forward(X, w, b), y)."""
    n = X.shape[0]
    residual = linear_forward(X, w, b) - y
    grad_w = (2.0 / n) * torch.matmul(X.t(), residual)
    grad_b = (2.0 / n) * residual.sum()
    return grad_w, grad_b
''',
        "gradient-step": '''def gradient_step(w, b, dw, db, lr):
    """One step of gradient descent: the new (w, b)."""
    return w - lr * dw, b - lr * db
''',
        "collapse-linear": '''def collapse_linear(W1, b1, W2, b2):
    """The single layer (W (C, D), b (C,)) equal to layer (W1 (H, D), b1 (H,)) then (W2 (C, H), b2 (C,))."""
    W = torch.matmul(W2, W1)
    b = torch.matmul(W2, b1) + b2
    return W, b
''',
        "activations": '''def relu(z):
    return torch.where(z > 0, z, torch.zeros_like(z))


def sigmoid(z):
    return 1.0 / (1.0 + torch.exp(-z))


def tanh(z):
    return 2.0 * sigmoid(2.0 * z) - 1.0
''',
        "activation-grads": '''def relu_grad(z):
    """d relu(z) / dz, elementwise."""
    return (z > 0).to(z.dtype)


def sigmoid_grad(z):
    """d sigmoid(z) / dz, elementwise."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_grad(z):
    """d tanh(z) / dz, elementwise."""
    return 1.0 - tanh(z) ** 2
''',
        "softmax-cross-entropy": '''def softmax(logits):
    """Row-wise softmax of logits (N, C)."""
    shifted = logits - logits.max(dim=1, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=1, keepdim=True)


def cross_entropy(logits, targets):
    """Mean cross-entropy of logits (N, C) against integer class labels targets (N,), as a 0-d tensor."""
    m = logits.max(dim=1, keepdim=True).values
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))
    picked = log_probs[torch.arange(logits.shape[0]), targets]
    return -picked.mean()
''',
        "mlp": '''class MLP(nn.Module):
    def __init__(self, in_features, hidden_sizes, out_features, dropout=0.0):
        super().__init__()
        layers = []
        previous = in_features
        for hidden in hidden_sizes:
            layers += [nn.Linear(previous, hidden), nn.ReLU(), nn.Dropout(dropout)]
            previous = hidden
        layers.append(nn.Linear(previous, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        """Logits (N, out_features) for inputs x (N, in_features)."""
        return self.net(x)
''',
        "training": '''def train_step(model, optimizer, X, y):
    """One optimisation step on the batch X (B, D), y (B,); returns the loss as a float."""
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train(model, X, y, *, epochs=20, lr=1e-2, batch_size=64, seed=0):
    """Mini-batch Adam on X (N, D), y (N,); returns the mean loss of each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    history = []
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=gen)
        losses = []
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            losses.append(train_step(model, optimizer, X[idx], y[idx]))
        history.append(sum(losses) / len(losses))
    return history


def predict(model, X):
    """Predicted class labels (N,) for X (N, D), in evaluation mode, without gradients."""
    model.eval()
    with torch.no_grad():
        return model(X).argmax(dim=1)
''',
    },
    "indep_verbose": {
        "linear-forward": '''def linear_forward(X, w, b):
    out = X @ w  # (N,)
    out = out + b  # (N,)
    return out
''',
        "mse-loss": '''def mse_loss(y_hat, y):
    n = y.shape[0]
    total = ((y_hat - y) * (y_hat - y)).sum()  # ()
    return total / n
''',
        "mse-gradients": '''def mse_gradients(X, y, w, b):
    preds = X @ w + b  # (N,)
    err = preds - y  # (N,)
    count = len(y)
    dw = X.T @ err * (2 / count)  # (D,)
    db = err.sum() * (2 / count)  # ()
    return dw, db
''',
        "gradient-step": '''def gradient_step(w, b, dw, db, lr):
    w_new = w.clone() - lr * dw
    b_new = b.clone() - lr * db
    return w_new, b_new
''',
        "collapse-linear": '''def collapse_linear(W1, b1, W2, b2):
    combined_weight = W2 @ W1  # (C, D)
    combined_bias = W2 @ b1 + b2  # (C,)
    return combined_weight, combined_bias
''',
        "activations": '''def relu(z):
    return z * (z > 0)


def sigmoid(z):
    return torch.exp(-torch.logaddexp(torch.zeros_like(z), -z))


def tanh(z):
    return 2 * sigmoid(2 * z) - 1
''',
        "activation-grads": '''def relu_grad(z):
    return torch.where(z > 0, torch.ones_like(z), torch.zeros_like(z))


def sigmoid_grad(z):
    return sigmoid(z) * sigmoid(-z)


def tanh_grad(z):
    t = tanh(z)
    return 1 - t * t
''',
        "softmax-cross-entropy": '''def softmax(logits):
    z = logits - logits.amax(dim=-1, keepdim=True)  # (N, C)
    p = z.exp()  # (N, C)
    return p / p.sum(dim=-1, keepdim=True)


def cross_entropy(logits, targets):
    z = logits - logits.amax(dim=-1, keepdim=True)  # (N, C)
    log_norm = torch.logsumexp(z, dim=-1)  # (N,)
    return (log_norm - z[torch.arange(len(targets)), targets]).mean()
''',
        "mlp": '''class MLP(nn.Module):
    def __init__(self, in_features, hidden_sizes, out_features, dropout=0.0):
        super().__init__()
        self.hidden = nn.ModuleList()
        self.drop = dropout
        size = in_features
        for h in hidden_sizes:
            self.hidden.append(nn.Linear(size, h))
            size = h
        self.output = nn.Linear(size, out_features)

    def forward(self, x):
        for layer in self.hidden:
            x = F.dropout(F.relu(layer(x)), p=self.drop, training=self.training)
        return self.output(x)
''',
        "training": '''def train_step(model, optimizer, X, y):
    model.train()
    optimizer.zero_grad()
    logits = model(X)  # (B, C)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train(model, X, y, *, epochs=20, lr=1e-2, batch_size=64, seed=0):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator()
    g.manual_seed(seed)
    epoch_means = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g)
        batch_losses = []
        i = 0
        while i < len(X):
            chosen = order[i:i + batch_size]
            batch_losses.append(train_step(model, opt, X[chosen], y[chosen]))
            i += batch_size
        epoch_means.append(sum(batch_losses) / len(batch_losses))
    return epoch_means


def predict(model, X):
    model.eval()
    with torch.no_grad():
        scores = model(X)  # (N, C)
    return torch.argmax(scores, dim=1)
''',
    },
}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def save(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def source(cell: dict) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]


def filled_stub(solution: dict[str, str]) -> dict:
    """The stub with its solution cells filled in from `solution`, by grade_id."""
    nb = load(STUB)
    for cell in nb["cells"]:
        if grade_id(cell) in solution:
            cell["source"] = solution[grade_id(cell)]
    return nb


def code_cell(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text}


# ------------------------------------------------------------------ how students disguise a copy

def _bound(tree) -> set[str]:
    """Names a cell binds: parameters and assignment targets."""
    import ast

    found = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    found |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return found - {"self"}


def _rename_in(text: str) -> str:
    """Every bound name renamed where it is a name or a parameter (a call's keywords stay as they are)."""
    import ast

    tree = ast.parse(text)
    names = sorted(_bound(tree))
    mapping = {name: f"{name}_renamed{i}" for i, name in enumerate(names)}
    places = [(n.lineno, n.col_offset, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in mapping]
    places += [(n.lineno, n.col_offset, n.arg) for n in ast.walk(tree) if isinstance(n, ast.arg) and n.arg in mapping]
    lines = text.split("\n")
    for row, col, name in sorted(places, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + mapping[name] + line[col + len(name):]
    return "\n".join(lines)


def renamed(nb: dict) -> dict:
    """Every variable and parameter the student's cells bind, renamed."""
    out = copy.deepcopy(nb)
    for cell in solution_cells(out):
        cell["source"] = _rename_in(source(cell))
    return out


def _top_level_blocks(text: str) -> list[str]:
    return [block.strip("\n") for block in re.split(r"\n(?=def |class |@)", text) if block.strip()]


def reordered(nb: dict) -> dict:
    """Functions in reverse order within each cell, and the solution cells' contents rotated by one."""
    out = copy.deepcopy(nb)
    cells = solution_cells(out)
    texts = ["\n\n\n".join(reversed(_top_level_blocks(source(c)))) + "\n" for c in cells]
    for cell, text in zip(cells, texts[1:] + texts[:1]):
        cell["source"] = text
    return out


def recommented(nb: dict) -> dict:
    """Every comment and docstring removed, other comments written in, blank lines and spacing changed."""
    out = copy.deepcopy(nb)
    for cell in solution_cells(out):
        text = re.sub(r'[ \t]*"""[^"]*"""[ \t]*\n', "", source(cell))
        text = re.sub(r"[ \t]*#[^\n]*", "", text)
        lines = []
        for line in text.split("\n"):
            if line.strip():
                indent = line[: len(line) - len(line.lstrip())]
                lines += [f"{indent}# my own work, step by step", line.replace(", ", ",").replace(" = ", "=")]
        cell["source"] = "\n".join(lines) + "\n"
    return out


def split_and_merged(nb: dict) -> dict:
    """The functions moved into new cells, three to a cell, put first; the solution cells emptied."""
    out = copy.deepcopy(nb)
    cells = solution_cells(out)
    blocks = [block for c in cells for block in _top_level_blocks(source(c))]
    for cell in cells:
        cell["source"] = ""
    merged = ["\n\n".join(blocks[i:i + 3]) for i in range(0, len(blocks), 3)]   # three functions a cell
    out["cells"][:0] = [code_cell(text + "\n") for text in merged]
    return out


_DEAD_HELPERS = [
    "def helper_never_called(values):\n    total = 0\n    for v in values:\n        total += v * v\n    return total\n",
    "def _debug_shapes(*tensors):\n    return [tuple(t.shape) for t in tensors if hasattr(t, 'shape')]\n",
    "def check_close(a, b, tol=1e-6):\n    diff = (a - b).abs().max()\n    print('max diff', diff)\n"
    "    return bool(diff < tol)\n",
    "class Timer:\n    def __enter__(self):\n        import time\n        self.t = time.time()\n        return self\n\n"
    "    def __exit__(self, *exc):\n        print(time.time() - self.t)\n",
    "def unused_schedule(step, warmup=10):\n    if step < warmup:\n        return step / warmup\n"
    "    return 1.0 / (step - warmup + 1) ** 0.5\n",
    "LOG = []\n\n\ndef log(message):\n    LOG.append(str(message))\n    while len(LOG) > 100:\n        LOG.pop(0)\n",
]
_DEAD_STATEMENTS = ["unused_counter = 0", "debug = False", "_ = None", "steps_taken = []", "trace = {}",
                    "assert True"]


def with_dead_code(nb: dict, which: int = 0) -> dict:
    """An unused statement at the start of every function, and an unused helper (one of several, so
    that two copies of different solutions do not share it) in a cell of its own."""
    out = copy.deepcopy(nb)
    statement = _DEAD_STATEMENTS[which % len(_DEAD_STATEMENTS)]
    for cell in solution_cells(out):
        cell["source"] = re.sub(r"(def [^\n]*:\n)([ \t]+)", rf"\1\2{statement}\n\2", source(cell))
    out["cells"].append(code_cell(_DEAD_HELPERS[which % len(_DEAD_HELPERS)]))
    return out


DISGUISES = {"renamed": renamed, "reordered": reordered, "recommented": recommented,
             "split_and_merged": split_and_merged, "dead_code": with_dead_code}
