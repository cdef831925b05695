"""The page's server without a browser: sessions, messages, bad input, safety, exports, `chainrule serve`.

Numbers are the seed's (001: L = 0.68456, then 0.35064 after one step of η = 0.2) and
``chainrule.explain``'s, computed here on the same model and batch.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install 'chainrule[web]'")

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import chainrule
from chainrule.diagnostics.examples import house_price
from chainrule.web import protocol
from chainrule.web.app import Server
from chainrule.web.session import Session, Start

SOCKET = "ws://127.0.0.1:8765/ws"
SPIRAL = {"type": "data", "source": "playground", "name": "spiral", "noise": 0.0, "train_ratio": 0.5,
          "samples": 500, "features": ["x1", "x2"]}  # fmt: skip


def explain_of(session, param):
    """chainrule.explain on the session's model and the batch its next step takes."""
    x, y = session._peek_batch()
    return chainrule.explain(session.model, session.loss_fn, x, y, param=param, lr=session.training["lr"])


def test_house_price_loss_step_and_explanation_are_the_seeds():
    session = Session(Start(example="house-price"))
    assert round(session.state()["loss"]["train"], 5) == 0.68456
    session.apply({"type": "select", "param": "0.weight[1,0]"})
    shown = session.state()["explanation"]
    expected = explain_of(session, "w1_21")
    assert shown["seed_name"] == "w1_21" and shown["gradient"] == expected.value
    assert shown["updated"] == pytest.approx(0.50366, abs=5e-6)
    d = shown["derivation"]  # the page's equations: ∂z/∂w, the chain, the one path from L, the update
    factors = [[d["third"]["symbol"], *d["third"]["forms"], d["third"]["display"]]]
    texts = [" = ".join(part["text"] for part in parts) for parts in
             [*factors, d["chain_equation"], d["path_equation"], d["update"]["equation"]]]  # fmt: skip
    gradients = expected.blocks.index(
        next(b for b in expected.blocks if getattr(b, "title", "").startswith("Gradients"))
    )
    assert (
        texts == [" = ".join(p.text for p in b.parts) for b in expected.blocks[gradients:] if hasattr(b, "parts")][:4]
    )
    assert [f["value"] for f in d["chain"]] == [f.value for f in expected.chain]  # the same floats
    session.apply({"type": "step"})
    state = session.state()
    assert round(state["loss"]["train"], 5) == 0.35064
    np.testing.assert_allclose(state["params"]["0.weight"], [[0.20561, 0.16157], [0.50366, 0.60754]], atol=5e-6)
    session.apply({"type": "reset"})  # the same initial weights
    assert session.state()["params"]["0.weight"] == [[0.2, 0.15], [0.5, 0.6]]


def test_the_three_phases_show_forward_backward_then_take_the_step():
    session = Session(Start(example="house-price"))
    session.apply({"type": "phase"})
    forward = session.state()
    assert forward["phase"] == "forward" and forward["steps"] == 0
    np.testing.assert_allclose(forward["phase_values"]["z"][0], [-0.063, -0.306], atol=1e-12)
    np.testing.assert_allclose(forward["phase_values"]["h"][1], [0.63009], atol=5e-6)
    session.apply({"type": "phase"})
    backward = session.state()
    assert backward["phase"] == "backward" and backward["steps"] == 0
    model, loss_fn, x, y = house_price()
    loss_fn(model(chainrule.tensor([x], dtype="float64")), chainrule.tensor([y], dtype="float64")).backward()
    np.testing.assert_allclose(backward["phase_values"]["gradients"]["2.weight"], model[2].weight.grad, rtol=1e-12)
    np.testing.assert_allclose(backward["phase_values"]["delta"][1], [1.17009], atol=5e-6)
    session.apply({"type": "phase"})
    update = session.state()
    assert update["phase"] == "update" and update["steps"] == 1
    assert round(update["loss"]["train"], 5) == 0.35064
    np.testing.assert_allclose(update["last_update"]["2.bias"], [-0.2 * 1.17009], atol=5e-6)


def test_editing_a_weight_changes_the_next_forward_pass():
    session = Session(Start(example="house-price"))
    session.apply({"type": "set_weight", "param": "2.weight[0,0]", "value": 1.0})
    h1 = 1 / (1 + np.exp(-np.array([-0.063, -0.306])))
    prediction = 1.0 * h1[0] + 0.2 * h1[1] + 0.4
    assert session.state()["loss"]["train"] == pytest.approx(0.5 * (-0.54 - prediction) ** 2, rel=1e-12)
    session.apply({"type": "phase"})
    assert session.state()["phase_values"]["h"][1][0] == pytest.approx(prediction, rel=1e-12)


def test_training_diverges_stops_and_says_so_with_fits_guard():
    session = Session(Start())
    session.apply({**SPIRAL, "name": "plane"})
    session.apply({"type": "network", "hidden": [8], "activations": ["relu"], "loss": "mse"})
    session.apply({"type": "training", "lr": 10.0})
    session.apply({"type": "play"})
    for _ in range(100):
        session.train_for(seconds=60, steps=1)
        if not session.playing:
            break
    state = session.state()
    assert not state["playing"]
    assert "training stopped" in state["message"] and "learning rate (lr=10) is the likely cause" in state["message"]
    assert "the loss grew to" in state["message"] or "the loss is" in state["message"]
    assert all(np.isfinite(np.array(v)).all() for v in state["params"].values())  # the weights from before


def test_spiral_trains_and_heatmaps_cover_every_unit():
    session = Session(Start())
    session.apply(SPIRAL)
    session.apply({"type": "network", "hidden": [8, 8], "activations": ["tanh", "tanh"], "loss": "bce"})
    first = session.state()["loss"]["train"]
    session.apply({"type": "play"})
    while session.steps < 2000:
        session.train_for(seconds=60, steps=500)
    state = session.state()
    assert state["loss"]["train"] < first
    maps = state["heatmaps"]
    assert [len(layer) for layer in maps["units"]] == [2, 8, 8, 1]
    assert len(maps["units"][1][0]) == 4 * ((32 * 32 + 2) // 3)  # base64 of 32×32 bytes


def test_bundled_dataset_and_upload_go_through_the_preprocessor(tmp_path):
    session = Session(Start())
    session.apply({"type": "data", "source": "dataset", "name": "iris"})
    state = session.state()
    assert state["data"]["train_rows"] == 120 and state["data"]["test_rows"] == 30
    assert state["network"]["loss"] == "cross-entropy" and len(state["network"]["outputs"]) == 3
    csv = tmp_path / "houses.csv"
    csv.write_text("size,rooms,price\n1000,2,200\n1500,3,260\n2000,3,330\n2500,4,400\n3000,5,480\n")
    session.set_upload(chainrule.data.read_csv(csv), "houses.csv")
    with pytest.raises(protocol.ProtocolError, match="target column 'cost' is not in the data"):
        session.apply({"type": "data", "source": "upload", "target": "cost", "features": None, "train_ratio": 0.8})
    assert session.state()["data"]["name"] == "iris"  # the previous data stays
    session.apply({"type": "data", "source": "upload", "target": "price", "features": ["size"], "train_ratio": 0.8})
    state = session.state()
    assert state["network"]["inputs"] == ["size"] and state["data"]["train_rows"] == 4


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", 'not a JSON object with a "type"'),
        ('{"type": "explode"}', "unknown message type 'explode'"),
        ('{"type": "training", "lr": 0}', "the learning rate must be above 0"),
        ('{"type": "training", "lr": 1e9}', "the learning rate must be from 0 to 10"),
        ('{"type": "training", "lr": "0.1; import os"}', "the learning rate must be a number"),
        ('{"type": "network", "hidden": [0], "activations": ["tanh"], "loss": "bce"}', "from 1 to 64"),
        (
            '{"type": "network", "hidden": ' + json.dumps([4] * 10000) + ', "activations": [], "loss": "bce"}',
            "10000 hidden layers is more than the page draws",
        ),
        ('{"type": "seed", "value": -1}', "the seed must be from 0"),
        ('{"type": "set_weight", "param": "0.weight[0,0]", "value": NaN}', "the new value must be a number"),
        ('{"type": "data", "source": "/etc/passwd"}', "data source must be"),
        (" " * (protocol.MAX_MESSAGE_BYTES + 1), "more than the 65536 a message may have"),
    ],
)
def test_bad_messages_are_refused_with_a_message(message, error):
    with pytest.raises(protocol.ProtocolError, match=error.replace("(", r"\(").replace("[", r"\[")):
        protocol.parse(message)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"type": "network", "hidden": [4], "activations": ["swish"], "loss": "bce"}, "unknown activation 'swish'"),
        ({"type": "network", "hidden": [4], "activations": ["tanh"], "loss": "mse"}, "does not fit a classification"),
        ({"type": "select", "param": "7.weight[0,0]"}, "no parameter '7.weight"),
        ({"type": "select", "param": "0.weight[9,0]"}, "outside 0.weight, of shape"),
        ({"type": "data", "source": "dataset", "name": "mnist"}, "unknown dataset 'mnist'; the bundled ones are"),
        ({"type": "data", "source": "upload", "target": "y", "features": None, "train_ratio": 0.8}, "no CSV file"),
        ({"type": "training", "optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ],
)
def test_messages_that_cannot_be_carried_out_leave_the_session_as_it_was(message, error):
    session = Session(Start())
    before = session.state()
    with pytest.raises(protocol.ProtocolError, match=error):
        session.apply(message)
    after = session.state()
    assert after["network"] == before["network"] and after["params"] == before["params"]
    assert after["data"]["name"] == before["data"]["name"]


@pytest.fixture
def client():
    with TestClient(Server(Start(example="house-price")).app, base_url="http://127.0.0.1:8765") as test_client:
        yield test_client


def test_socket_session_hello_state_and_errors(client):
    with client.websocket_connect(SOCKET) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and "tanh" in hello["options"]["activations"]
        assert round(ws.receive_json()["loss"]["train"], 5) == 0.68456
        ws.send_text("{broken")
        assert "not JSON" in ws.receive_json()["message"]
        assert ws.receive_json()["type"] == "state"  # the session goes on
        ws.send_text(json.dumps({"type": "step"}))
        assert round(ws.receive_json()["loss"]["train"], 5) == 0.35064


def test_two_tabs_are_two_sessions_and_closing_frees_one(client):
    with client.websocket_connect(SOCKET) as first, client.websocket_connect(SOCKET) as second:
        for ws in (first, second):
            ws.receive_json(), ws.receive_json()
        first.send_text(json.dumps({"type": "step"}))
        assert first.receive_json()["steps"] == 1
        second.send_text(json.dumps({"type": "select", "param": "w2_11"}))
        error = second.receive_json()
        assert "no parameter 'w2_11'" in error["message"]
        assert second.receive_json()["steps"] == 0


def test_sessions_end_with_their_socket():
    server = Server(Start(example="house-price"))
    with TestClient(server.app, base_url="http://127.0.0.1:8765") as test_client:
        with test_client.websocket_connect(SOCKET) as ws:
            ws.receive_json(), ws.receive_json()
            assert len(server.sessions) == 1
        time.sleep(0.2)
        assert server.sessions == {}


def test_other_hosts_and_origins_are_refused(client):
    assert client.get("/", headers={"host": "evil.example:8765"}).status_code == 421
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(SOCKET, headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()


def test_upload_limits_and_errors_and_exports(client, tmp_path):
    with client.websocket_connect(SOCKET) as ws:
        key = ws.receive_json()["session"]
        ws.receive_json()
        big = client.post(
            f"/api/upload/{key}", headers={"content-length": str(protocol.MAX_UPLOAD_BYTES + 1)}, content=b""
        )
        assert big.status_code == 413 and "larger than 50 MB" in big.json()["error"]
        bad = client.post(f"/api/upload/{key}?name=bad.csv", content=b"a,b\n1,2\n3\n")
        assert bad.status_code == 400 and bad.json()["error"].startswith("bad.csv: ")
        good = client.post(f"/api/upload/{key}?name=ok.csv", content=b"a,b\n1,2\n3,4\n5,7\n")
        assert good.json() == {"columns": ["a", "b"], "rows": 3, "name": "ok.csv"}
        assert client.post("/api/upload/nobody", content=b"a\n1\n").status_code == 404
        model = client.get(f"/api/export/{key}/model.safetensors")
        path = tmp_path / "model.safetensors"
        path.write_bytes(model.content)
        loaded = chainrule.io.load(path).model
        np.testing.assert_array_equal(loaded[0].weight.data, [[0.2, 0.15], [0.5, 0.6]])
        markdown = client.get(f"/api/export/{key}/walkthrough.md").text
        assert "$$" in markdown and "0.6846" in markdown


def test_chainrule_serve_prints_its_address_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "serve", "--example", "house-price", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("chainrule serve: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"chainrule" in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--port", "70000"], "argument --port: must be a whole number from 0 to 65,535"),
        (["--example", "house-price", "--data", "x.csv"], "--data goes with a model"),
        (["--data", "x.csv"], "--data goes with a model"),
        (["missing.safetensors"], "missing.safetensors"),
    ],
)
def test_chainrule_serve_bad_arguments(arguments, error, capsys):
    from chainrule.cli import main

    assert main(["serve", "--no-browser", *arguments]) == 2
    assert error in capsys.readouterr().err


def test_sessions_in_threads_do_not_disturb_each_other():
    """One tab evaluating under no_grad (process-wide) while another trains: they take turns."""
    import threading

    training, drawing = Session(Start()), Session(Start())
    training.apply({"type": "play"})
    errors = []

    def train():
        try:
            for _ in range(40):
                training.train_for(seconds=60, steps=20)
        except Exception as error:  # reported below
            errors.append(error)

    thread = threading.Thread(target=train)
    thread.start()
    while thread.is_alive():
        drawing.state()
    thread.join()
    assert errors == [] and training.steps == 800


def test_serving_a_trained_model_with_and_without_its_data(tmp_path):
    import argparse

    from chainrule.cli import main
    from chainrule.cli.serve import _start

    model = tmp_path / "houses.safetensors"
    csv = tmp_path / "houses.csv"
    csv.write_text("size,rooms,price\n" + "".join(f"{1000 + 90 * i},{2 + i % 3},{150 + 20 * i}\n" for i in range(30)))
    assert main(["train", str(csv), "--target", "price", "--hidden", "3", "--epochs", "2", "--quiet",
                 "--save", str(model)]) == 0  # fmt: skip
    saved = chainrule.io.load(model)
    for data, rows in ((str(csv), 30), (None, 1)):
        session = Session(_start(argparse.Namespace(model=str(model), example=None, data=data)))
        state = session.state()
        assert state["data"]["train_rows"] == rows and state["network"]["inputs"] == ["size", "rooms"]
        np.testing.assert_array_equal(state["params"]["0.weight"], saved.model[0].weight.data)
        x, y = session._peek_batch()
        session.apply({"type": "select", "param": "2.weight[0,1]"})
        expected = chainrule.explain(session.model, session.loss_fn, x, y, param="w2_12", lr=0.03).value
        assert session.state()["explanation"]["gradient"] == expected


def test_chainrule_serve_on_another_host_warns_that_the_page_has_no_login():
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "serve", "--host", "127.0.0.2", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        url = process.stdout.readline().split()[2]
        assert url.startswith("http://127.0.0.2:")
        assert "the page has no login" in process.stderr.readline()
        with urllib.request.urlopen(url, timeout=10) as response:  # any Host name is accepted then
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
