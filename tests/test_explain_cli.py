"""``chainrule explain`` and ``chainrule gradcheck`` on real checkpoints written by ``chainrule train``,
run as a user runs them (subprocess): raw CSV values in, the saved preprocessing applied, every shown
number checked against PyTorch, and bad input refused in one line with exit status 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from chainrule import io

CHAINRULE = shutil.which("chainrule", path=str(Path(sys.executable).parent)) or "chainrule"
FLOWERS = "petal_length,petal_width,species\n" + "".join(
    f"{length},{width},{species}\n"
    for length, width, species in [
        (1.4, 0.2, "setosa"), (1.3, 0.2, "setosa"), (1.5, 0.2, "setosa"), (1.7, 0.4, "setosa"),
        (4.7, 1.4, "versicolor"), (4.5, 1.5, "versicolor"), (4.9, 1.5, "versicolor"), (4.0, 1.3, "versicolor"),
        (6.0, 2.5, "virginica"), (5.1, 1.9, "virginica"), (5.9, 2.1, "virginica"), (5.6, 1.8, "virginica"),
    ]
)  # fmt: skip


def chainrule(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHAINRULE, *map(str, args)], capture_output=True, text=True, timeout=120)


def assert_usage_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A Portland regression model (bundled dataset) and an iris-like classifier (CSV), both by chainrule train."""
    folder = tmp_path_factory.mktemp("explain")
    portland = folder / "portland.safetensors"
    result = chainrule("train", "--dataset", "portland-housing", "--hidden", "3", "--activation", "tanh",
                       "--epochs", "5", "--save", portland, "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder / "flowers.csv").write_text(FLOWERS)
    flowers = folder / "flowers.safetensors"
    result = chainrule("train", folder / "flowers.csv", "--target", "species", "--hidden", "4",
                       "--activation", "sigmoid", "--epochs", "5", "--save", flowers, "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {"portland": portland, "flowers": flowers}


def _torch_step(path: Path, x: list[float], y, loss: str) -> tuple[dict[str, np.ndarray], float, np.ndarray]:
    """The checkpoint's network in PyTorch (float64) on already-encoded (x, y): grads, loss, output."""
    state = io.load(path).model.state_dict()
    w1, b1, w2, b2 = (torch.tensor(np.asarray(state[k], dtype=np.float64), requires_grad=True)
                      for k in ("0.weight", "0.bias", "2.weight", "2.bias"))  # fmt: skip
    hidden = torch.tanh if loss == "mse" else torch.sigmoid
    out = hidden(torch.tensor([x], dtype=torch.float64) @ w1.T + b1) @ w2.T + b2
    value = (
        torch.nn.functional.mse_loss(out, torch.tensor([[y]], dtype=torch.float64))
        if loss == "mse"
        else torch.nn.functional.cross_entropy(out, torch.tensor([y]))
    )
    value.backward()
    grads = {"0.weight": w1.grad.numpy(), "0.bias": b1.grad.numpy(), "2.weight": w2.grad.numpy()}
    return grads, value.item(), out.detach().numpy()[0]


def test_explain_takes_raw_csv_values_and_applies_the_saved_preprocessing(models):
    result = chainrule("explain", models["portland"], "--input", "1650, 3", "--target", "300000",
                       "--param", "w1_21", "--lr", "0.1", "--decimals", "8")  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "standardised units the network sees" in text
    preprocessing = io.load(models["portland"]).preprocessing
    (m1, m2), (s1, s2) = preprocessing["numeric"]["mean"], preprocessing["numeric"]["std"]
    tm, ts = preprocessing["target_mean"], preprocessing["target_std"]
    assert preprocessing["features"] == ["size_sqft", "bedrooms"]
    x = [(1650 - m1) / s1, (3 - m2) / s2]
    y = (300000 - tm) / ts
    seen = [float(v) for v in re.findall(r"\) / [\d.]+ = (-?[\d.]+)", text)]
    np.testing.assert_allclose(seen, [*x, y], rtol=1e-6)  # float32 inputs, as the network sees them

    grads, loss, out = _torch_step(models["portland"], x, y, "mse")
    assert max(len(line) for line in text.splitlines()) <= 100
    joined = re.sub(r"\n +(= )", r" \1", text)  # equations continued on the next line, joined back
    chain = re.search(r"∂L/∂w¹₂₁ = ∂L/∂h¹₂ · ∂h¹₂/∂z¹₂ · ∂z¹₂/∂w¹₂₁ = .* = (-?[\d.e-]+)\n", joined)
    assert float(chain[1]) == pytest.approx(grads["0.weight"][1, 0], rel=1e-5)
    assert float(re.search(r"L = .* = (-?[\d.]+)\n", text)[1]) == pytest.approx(loss, rel=1e-5)
    price = float(re.search(r"→ price = .* = (-?[\d.]+)\.\n", text.replace("=\n", "= "))[1])
    assert price == pytest.approx(out[0] * ts + tm, rel=1e-5)
    assert "w¹₂₁ ← w¹₂₁ − η ∂L/∂w¹₂₁" in text and "L after the step" in text


def test_explain_markdown_and_html_carry_the_preprocessing_section(models):
    arguments = ["explain", models["portland"], "--input", "1650,3", "--target", "300000"]
    markdown = chainrule(*arguments, "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert "| size_sqft | 1650 |" in markdown.stdout and r"\frac{\partial L}" in markdown.stdout
    maths = re.findall(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", markdown.stdout)
    assert maths and all(part.isascii() for pair in maths for part in pair)  # LaTeX commands, no Unicode maths
    html = chainrule(*arguments, "--format", "html")
    assert html.returncode == 0, html.stderr
    assert "size_sqft" in html.stdout and "w<sup>1</sup><sub>11</sub>" in html.stdout


def test_explain_a_batch_of_raw_rows(models):
    result = chainrule("explain", models["portland"], "--input", "1650,3; 2400,4", "--target", "300000; 369000",
                       "--param", "b2_1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Sample 2: output" in result.stdout and "(1/2) Σ_n ∂ℓ_n/∂b²₁" in result.stdout


def test_explain_a_classifier_takes_the_class_label(models):
    result = chainrule("explain", models["flowers"], "--input", "4.5, 1.5", "--target", "versicolor",
                       "--param", "W2", "--decimals", "8")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "class index 1 of setosa, versicolor, virginica" in result.stdout
    assert "predicted species" in result.stdout
    checkpoint = io.load(models["flowers"])
    x = checkpoint.preprocessor.transform(_row_table(checkpoint, [4.5, 1.5]))[0].tolist()
    grads, loss, _ = _torch_step(models["flowers"], x, 1, "cross-entropy")
    assert float(re.search(r"L = −ln softmax\(h²\)_y = (-?[\d.]+)\n", result.stdout)[1]) == pytest.approx(
        loss, rel=1e-5
    )
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    markdown = chainrule("explain", models["flowers"], "--input", "4.5, 1.5", "--target", "versicolor",
                         "--param", "W2", "--decimals", "8", "--format", "markdown").stdout  # fmt: skip
    shown = re.search(r"\\partial W\^\{2\}\} = .*? = \\begin\{bmatrix\} (.*?) \\end\{bmatrix\}", markdown)[1]
    rows = [[float(v) for v in row.split(" & ")] for row in shown.split(r" \\ ")]
    np.testing.assert_allclose(rows, grads["2.weight"], rtol=1e-4, atol=1e-7)  # every number in Markdown


def _row_table(checkpoint, values):
    from chainrule.diagnostics.preprocessed import raw_table

    return raw_table(checkpoint.preprocessor, values)


def test_gradcheck_on_a_trained_model(models):
    result = chainrule("gradcheck", models["portland"], "--input", "1650,3", "--target", "300000")
    assert result.returncode == 0, result.stderr
    assert "gradcheck passed" in result.stdout and "0.weight" in result.stdout
    result = chainrule("gradcheck", models["flowers"], "--input", "5.1,1.9", "--target", "virginica")
    assert result.returncode == 0, result.stderr


def test_bad_input_is_one_line_with_the_fix(models):
    portland = models["portland"]
    assert_usage_error(
        chainrule("explain", portland, "--input", "1650, 3, 7", "--target", "300000"),
        "takes 2 input values",
        "size_sqft, bedrooms",
        "got 3",
    )
    assert_usage_error(chainrule("gradcheck", portland, "--input", "1650", "--target", "1"), "size_sqft, bedrooms")
    assert_usage_error(
        chainrule("explain", portland, "--input", "1650, 3", "--target", "300000", "--param", "w9_11"), "layers 1..2"
    )
    assert_usage_error(
        chainrule("explain", portland, "--input", "1650, 3", "--target", "300000", "--param", "weight"),
        "0.weight (3×2) = W1, 0.bias (3) = b1, 2.weight (1×3) = W2, 2.bias (1) = b2",
    )
    assert_usage_error(chainrule("explain", portland, "--target", "300000"), "--input", "size_sqft, bedrooms")
    assert_usage_error(chainrule("explain", portland, "--input", "big, 3", "--target", "1"), "'size_sqft'", "number")
    assert_usage_error(
        chainrule("explain", models["flowers"], "--input", "4.5, 1.5", "--target", "rose"), "'rose'", "setosa"
    )
    assert_usage_error(chainrule("explain", portland.with_name("missing.safetensors"), "--input", "1", "--target", "1"))


def test_example_explain_house_price_writes_text_and_markdown(tmp_path):
    script = Path(__file__).resolve().parents[1] / "examples" / "explain_house_price.py"
    result = subprocess.run([sys.executable, script, tmp_path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "∂L/∂w²₁₁ = ∂L/∂h²₁ · ∂h²₁/∂z²₁ · ∂z²₁/∂w²₁₁ = 1.1701 × 1 × 0.4843 = 0.5666" in result.stdout
    assert "L after the step = 0.3506    (before: 0.6846)" in result.stdout
    assert "| size_sqft | 1650 |" in (tmp_path / "portland.md").read_text()
    assert r"\frac{\partial L}{\partial w^{2}_{11}}" in (tmp_path / "house_price.md").read_text()
    data = json.loads((tmp_path / "house_price.json").read_text(encoding="utf-8"))
    assert data["schema"] == "chainrule.derivation" and data["update"]["loss_after"] == pytest.approx(0.35064, abs=5e-6)
