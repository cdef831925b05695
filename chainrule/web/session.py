"""One tab's training session: the one place where the page's state lives.

As in TensorFlow Playground (``playground.ts`` keeps the network, ``nn.ts`` computes it, the
drawing reads the state each frame), a :class:`Session` holds the data, the network, the
optimizer, the step count, the phase of a split step, the curves and the selected parameter;
the page's controls are messages that change it (:meth:`Session.apply`) and the page draws
:meth:`Session.state`.  Everything is computed by chainrule itself: training steps by the fit
loop's step (:class:`~chainrule.web.workflow.Stepper`), the numbers of a split step and of the
selected parameter by ``chainrule.explain`` (:mod:`chainrule.web.derivation`).

Sessions compute one at a time (:data:`COMPUTE_LOCK`), so many tabs train side by side, frame by
frame.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

import chainrule
from chainrule import backend
from chainrule.autograd import no_grad
from chainrule.data.playground import FEATURES, PLAYGROUND_SETS, grid, make_playground, playground_features
from chainrule.diagnostics.notation import network_layers
from chainrule.tensor import Tensor
from chainrule.web import derivation, workflow
from chainrule.web.protocol import LIMITS, ProtocolError

xp = backend.xp

HEATMAP_RESOLUTION = 32
"""Heat maps are this many cells a side (each cell one forward pass of the grid point)."""
OUTPUT_RESOLUTION = 64
"""The output's heat map behind the data points is finer."""
MAX_HISTORY = 1000
"""Points kept per curve; when full, every other point is dropped (the curve keeps its shape)."""
FRAME_SECONDS = 1 / 30
"""While playing, the page gets a new state every frame: ~30 times a second."""
TRAIN_SECONDS = 0.6 * FRAME_SECONDS
"""Training time per frame; the rest of the frame computes and sends the state (heat maps, curves)."""
MAX_SHOWN_POINTS = 1000
"""Points of the fitted-against-target plot sent per frame."""

COMPUTE_LOCK = threading.RLock()
"""Held by every session while it computes: chainrule's grad mode (``no_grad``) and the generator
that draws weights are process-wide, so one session's evaluation under ``no_grad`` must not
overlap another's training step.  Tabs take turns frame by frame (with the GIL, threads of small
NumPy steps would not run at once anyway)."""

_PARAM = re.compile(r"^(\d+(?:\.\d+)*)\.(weight|bias)\[(\d+)(?:,\s*(\d+))?\]$")

PLAYGROUND_NETWORK = {"hidden": [4, 2], "activations": ["tanh", "tanh"], "loss": "bce"}
"""The network a tab starts with on Playground's data (Playground's own default)."""
TRAINING = {"optimizer": "sgd", "lr": 0.03, "batch_size": 10, "weight_decay": 0.0, "speed": 0}
"""The training settings a tab starts with (Playground's): SGD, η = 0.03, batches of 10, no decay, full speed."""


@dataclass
class Start:
    """What a new tab opens with: ``chainrule serve`` (Playground's circle), ``--example house-price``,
    or ``MODEL.safetensors [--data CSV]`` (the loaded checkpoint and its data as arrays)."""

    example: str | None = None
    checkpoint: Any = None
    model_data: workflow.Arrays | None = None
    model_name: str = ""


@dataclass
class Data(workflow.Arrays):
    """The model arrays the session trains on (:class:`~chainrule.web.workflow.Arrays`), and what the
    page needs to draw them."""

    description: str = ""
    points_train: Any = None
    points_test: Any = None
    labels_train: Any = None
    labels_test: Any = None
    grid_features: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def planar(self) -> bool:
        """Whether the inputs are functions of a point of the plane (heat maps can be drawn)."""
        return self.grid_features is not None


def _b64(values: Any) -> str:
    """Values in [−1, 1] as one byte each, (v + 1) · 127.5 rounded, base64: a heat map's wire form."""
    quantised = xp.rint((xp.clip(values, -1.0, 1.0) + 1.0) * 127.5).astype(xp.uint8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


class Session:
    """The state of one tab: data, network, optimizer, training progress, split step, selection.

    Parameters
    ----------
    start : Start
        What the tab opens with.
    """

    def __init__(self, start: Start) -> None:
        self.lock = COMPUTE_LOCK
        self.start = start
        self.upload: Any = None
        self.upload_name = ""
        self.seed = 0
        self.training = dict(TRAINING)
        self.playing = False
        self.selected: str | None = None
        self.message = ""
        self.version = 0
        self.data_version = 0
        if start.example == "house-price":
            self.data_config: dict[str, Any] = {"source": "example", "name": "house-price"}
        elif start.checkpoint is not None:
            self.data_config = {"source": "model"}
        else:
            self.data_config = {
                "source": "playground",
                "name": "circle",
                "noise": 0.0,
                "train_ratio": 0.5,
                "samples": 500,
                "features": ["x1", "x2"],
            }
        self.network = copy.deepcopy(PLAYGROUND_NETWORK)
        with self.lock:
            self._load_data()
            self._from_start()

    # ------------------------------------------------------------------ data
    def _load_data(self) -> None:
        self.data_version += 1  # the page asks for the points again
        config = self.data_config
        source = config["source"]
        if source == "playground":
            self.data = self._playground(config)
        elif source == "example":
            if config["name"] != "house-price":
                raise ProtocolError(f"unknown example {config['name']!r}; the example is house-price")
            from chainrule.diagnostics.examples import house_price

            _, _, x, y = house_price()
            self.data = Data(
                xp.asarray([x]), xp.asarray([y]), None, None, "regression", [], ["x1 (size)", "x2 (rooms)"],
                description="Seed 001: one house, (size, rooms) = (−0.32, −0.66) scaled, price −0.54 scaled",
            )  # fmt: skip
        elif source == "dataset":
            names = [info.name for info in chainrule.data.list_datasets() if info.bundled]
            if config["name"] not in names:
                raise ProtocolError(f"unknown dataset {config['name']!r}; the bundled ones are {names}")
            arrays, description = workflow.dataset_arrays(config["name"])
            self.data = self._from_arrays(arrays, description)
        elif source == "upload":
            if self.upload is None:
                raise ProtocolError("no CSV file uploaded yet; choose one with the Upload button first")
            arrays = workflow.table_arrays(
                self.upload, config["target"], config["features"], round(1 - config["train_ratio"], 6), self.seed
            )
            self.data = self._from_arrays(arrays, f"{self.upload_name}: {self.upload.n_rows} rows")
        else:
            if self.start.model_data is None:
                raise ProtocolError("no model was opened; start with chainrule serve MODEL.safetensors [--data CSV]")
            data = self.start.model_data
            described = "with its data" if len(data.x_train) > 1 else "on one row at the training means (z = 0)"
            self.data = self._from_arrays(data, f"{self.start.model_name} {described}")

    def _playground(self, config: dict) -> Data:
        if config["name"] not in PLAYGROUND_SETS:
            raise ProtocolError(
                f"unknown Playground data set {config['name']!r}; choose one of {list(PLAYGROUND_SETS)}"
            )
        unknown = [f for f in config["features"] if f not in FEATURES]
        if unknown:
            raise ProtocolError(f"unknown input features {unknown}; choose from {list(FEATURES)}")
        points, labels, task = make_playground(config["name"], config["samples"], config["noise"], seed=0)
        n_train = max(1, min(len(points) - 1, round(config["train_ratio"] * len(points))))
        order = backend.generator(1).permutation(len(points))
        train, test = order[:n_train], order[n_train:]
        features = config["features"]
        classes = ["orange (0)", "blue (1)"] if task == "classification" else []
        y = labels if task == "classification" else labels.reshape(-1, 1)
        return Data(
            playground_features(points[train], features), y[train],
            playground_features(points[test], features), y[test],
            task, classes, list(features), description=f"Playground's {config['name']}, {len(points)} points",
            points_train=points[train], points_test=points[test],
            labels_train=labels[train], labels_test=labels[test],
            grid_features=(playground_features(grid(HEATMAP_RESOLUTION), features),
                           playground_features(grid(OUTPUT_RESOLUTION), features)),
        )  # fmt: skip

    @staticmethod
    def _from_arrays(arrays: workflow.Arrays, description: str) -> Data:
        shared = {f.name: getattr(arrays, f.name) for f in fields(workflow.Arrays)}
        return Data(**shared, description=description)

    def set_upload(self, table: Any, name: str) -> dict[str, Any]:
        """Keep an uploaded table (already read by ``read_csv``) for a later ``data`` message."""
        with self.lock:
            self.upload, self.upload_name = table, name
            self.version += 1
            return {"columns": table.columns, "rows": table.n_rows, "name": name}

    # ------------------------------------------------------------------ network
    def _outputs(self) -> int:
        data = self.data
        if data.task == "regression":
            return data.y_train.shape[1]
        return 1 if self.network["loss"] == "bce" else len(data.classes)

    def _fit_loss(self) -> None:
        """Keep the chosen loss if it fits the data's task, else take the first that does."""
        fits = workflow.losses_for(self.data.task, len(self.data.classes))
        if self.network["loss"] not in fits:
            self.network["loss"] = fits[0]

    def _from_start(self) -> None:
        """The network the tab opens with: the seed's, the checkpoint's, or Playground's 2-4-2-1."""
        start = self.start
        base = None
        if self.data_config["source"] == "example":
            from chainrule.diagnostics.examples import HOUSE_PRICE_LR, house_price

            model, _, _, _ = house_price()
            self.network = {"hidden": [2], "activations": ["sigmoid"], "loss": "half-squared"}
            self.training.update(lr=HOUSE_PRICE_LR, batch_size=1)
            base = model.state_dict()
        elif self.data_config["source"] == "model":
            model = start.checkpoint.model
            layers = network_layers(model)
            self.network = {
                "hidden": [layer.units for layer in layers[:-1]],
                "activations": [layer.activation_name for layer in layers[:-1]],
                "loss": "cross-entropy" if self.data.task == "classification" else "mse",
            }
            base = model.state_dict()
        self._fit_loss()
        self._build(base)

    def _build(self, base: dict | None = None) -> None:
        """A new model (seeded, or with the weights ``base``), its loss and optimizer; training starts over."""
        hidden, activations = self.network["hidden"], self.network["activations"]
        unknown = [a for a in activations if a not in workflow.ACTIVATIONS]
        if unknown:
            raise ProtocolError(f"unknown activation {unknown[0]!r}; choose one of {list(workflow.ACTIVATIONS)}")
        if self.network["loss"] not in workflow.LOSSES:
            raise ProtocolError(f"unknown loss {self.network['loss']!r}; choose one of {list(workflow.LOSSES)}")
        fits = workflow.losses_for(self.data.task, len(self.data.classes))
        if self.network["loss"] not in fits:
            raise ProtocolError(f"the loss {self.network['loss']} does not fit a {self.data.task} task; choose {fits}")
        chainrule.manual_seed(self.seed)  # under COMPUTE_LOCK, held by apply
        model = workflow.build_model(self.data.x_train.shape[1], hidden, activations, self._outputs())
        if base is not None:
            model.load_state_dict(base)
        self.base = base
        self.model = model
        self.loss_fn = workflow.make_loss(self.network["loss"])
        self.initial = copy.deepcopy(model.state_dict())
        self._restart()

    def _targets(self, y: Any) -> Any:
        """Targets as the loss wants them: class indices, or 0/1 floats (n, 1) for the one-logit BCE."""
        if self.data.task == "classification" and self.network["loss"] == "bce":
            return y.astype(xp.float64).reshape(-1, 1)
        return y

    def _restart(self) -> None:
        """Weights back to ``self.initial``, a fresh optimizer, step 0, empty curves."""
        self.model.load_state_dict(self.initial)
        for p in self.model.parameters():
            p.grad = None
        self._make_optimizer()
        self.y_train, self.y_test = self._targets(self.data.y_train), self._targets(self.data.y_test)
        self.steps = self.epoch = self.batch = 0
        self.order = backend.generator(self.seed).permutation(len(self.data.x_train))
        self.history: dict[str, list[float]] = {
            "step": [],
            "train": [],
            "test": [],
            "metric_train": [],
            "metric_test": [],
        }
        self.last_update: dict[str, Any] | None = None
        self.phase: str | None = None
        self.phase_values: dict[str, Any] | None = None
        self.playing = False
        self._record()

    def _make_optimizer(self) -> None:
        name = self.training["optimizer"]
        if name not in workflow.OPTIMIZERS:
            raise ProtocolError(f"unknown optimizer {name!r}; choose one of {list(workflow.OPTIMIZERS)}")
        self.optimizer = workflow.make_optimizer(
            name, self.model.parameters(), self.training["lr"], self.training["weight_decay"]
        )
        self.stepper = workflow.Stepper(self.model, self.loss_fn, self.optimizer)

    # ------------------------------------------------------------------ training
    def _next_batch(self) -> tuple[Any, Any]:
        """The rows of the next step: the next ``batch_size`` of this epoch's seeded order."""
        n = len(self.data.x_train)
        size = min(self.training["batch_size"], n)
        start = self.batch * size
        if start >= n:
            self.epoch, self.batch, start = self.epoch + 1, 0, 0
            self.order = backend.generator((self.seed, self.epoch)).permutation(n)
        rows = self.order[start : start + size]
        return self.data.x_train[rows], self.y_train[rows]

    def _peek_batch(self) -> tuple[Any, Any]:
        """The rows the next step will take, without taking them."""
        kept = self.order, self.batch, self.epoch
        try:
            return self._next_batch()
        finally:
            self.order, self.batch, self.epoch = kept

    def _step(self) -> None:
        x, y = self._next_batch()
        before = {name: p.data.copy() for name, p in self.model.named_parameters()}
        try:
            self.stepper.step(x, y, self.epoch, self.batch)
        except workflow.DivergedError as error:
            self.playing = False
            self.message = str(error)
            raise
        self.batch += 1
        self.steps += 1
        self.last_update = {name: p.data - before[name] for name, p in self.model.named_parameters()}

    def train_for(self, seconds: float = TRAIN_SECONDS, steps: int | None = None) -> int:
        """Train for ``seconds`` (at most ``steps`` steps); returns the steps taken."""
        with self.lock, xp.errstate(all="ignore"):
            deadline = time.perf_counter() + seconds
            taken = 0
            try:
                while self.playing and (steps is None or taken < steps):
                    self._step()
                    taken += 1
                    if time.perf_counter() >= deadline:
                        break
            except workflow.DivergedError:
                pass
            if taken:
                self._record()
            return taken

    def _evaluate(self, x: Any, y: Any) -> tuple[float | None, float | None]:
        """(loss, accuracy or R²) of the model on (x, y)."""
        if x is None or len(x) == 0:
            return None, None
        with no_grad():
            output = self.model(Tensor(x))
            loss = float(self.loss_fn(output, y).item())
        out = output.data
        if self.data.task == "classification":
            predicted = (out[:, 0] > 0).astype(xp.int64) if out.shape[1] == 1 else out.argmax(axis=1)
            labels = y.reshape(-1).astype(xp.int64)
            return loss, float((predicted == labels).mean())
        if len(y) < 2:
            return loss, None
        residual = float(((out - y) ** 2).sum())
        total = float(((y - y.mean(axis=0)) ** 2).sum())
        return loss, (1 - residual / total) if total > 0 else None

    def _record(self) -> None:
        train = self._evaluate(self.data.x_train, self.y_train)
        test = self._evaluate(self.data.x_test, self.y_test)
        h = self.history
        for key, value in zip(("step", "train", "metric_train", "test", "metric_test"), (self.steps, *train, *test)):
            h[key].append(value)
        if len(h["step"]) > MAX_HISTORY:
            for key in h:
                h[key] = h[key][::2]
        self.version += 1

    # ------------------------------------------------------------------ messages
    def apply(self, message: dict[str, Any]) -> None:
        """Carry out one checked message from the page (:func:`chainrule.web.protocol.parse`).

        Raises :class:`ProtocolError` with the page's message when it cannot be done; the session
        keeps its previous state then.
        """
        with self.lock, xp.errstate(all="ignore"):
            self.message = ""
            kind = message["type"]
            try:
                getattr(self, f"_on_{kind}")(message)
            except (ValueError, KeyError) as error:  # data errors name the problem and the fix
                if isinstance(error, ProtocolError):
                    raise
                raise ProtocolError(str(error.args[0] if isinstance(error, KeyError) else error)) from None
            finally:
                self.version += 1

    def _on_data(self, message: dict) -> None:
        previous = (self.data_config, self.data, self.network, self.model, self.base, dict(self.training))
        left_example = self.data_config["source"] in ("example", "model")
        self.data_config = {k: v for k, v in message.items() if k != "type"}
        try:
            self._load_data()
            if self.data_config["source"] in ("example", "model"):
                self._from_start()
            else:
                if left_example:  # the seed's 2-2-1 and η = 0.2 were for the seed's one house
                    self.network, self.training = copy.deepcopy(PLAYGROUND_NETWORK), dict(TRAINING)
                self._fit_loss()
                self._build()
        except Exception:
            self.data_config, self.data, self.network, self.model, self.base, self.training = previous
            raise

    def _on_network(self, message: dict) -> None:
        previous = dict(self.network)
        self.network = {"hidden": message["hidden"], "activations": message["activations"], "loss": message["loss"]}
        try:
            self._build()
        except Exception:
            self.network = previous
            raise

    def _on_training(self, message: dict) -> None:
        changes = {k: v for k, v in message.items() if k != "type"}
        if "optimizer" in changes and changes["optimizer"] not in workflow.OPTIMIZERS:
            raise ProtocolError(
                f"unknown optimizer {changes['optimizer']!r}; choose one of {list(workflow.OPTIMIZERS)}"
            )
        self.training.update(changes)
        if {"optimizer", "weight_decay"} & changes.keys():
            self._make_optimizer()  # a new optimizer starts with empty state (momentum, moments)
        for group in self.optimizer.param_groups:
            group["lr"] = self.training["lr"]
        self.phase, self.phase_values = None, None

    def _on_play(self, _: dict) -> None:
        self.phase, self.phase_values = None, None
        self.playing = True

    def _on_pause(self, _: dict) -> None:
        self.playing = False

    def _on_step(self, _: dict) -> None:
        self.playing = False
        self.phase, self.phase_values = None, None
        try:
            self._step()
        except workflow.DivergedError:
            return
        self._record()

    def _on_phase(self, _: dict) -> None:
        """forward → backward → update (the step itself) → forward of the next step …"""
        self.playing = False
        if self.phase in (None, "update"):
            x, y = self._peek_batch()
            self.phase_values = derivation.step_values(self.model, self.loss_fn, x, y, self.training["lr"])
            self.phase = "forward"
        elif self.phase == "forward":
            self.phase = "backward"
        else:
            try:
                self._step()
            except workflow.DivergedError:
                self.phase = None
                return
            self._record()
            self.phase = "update"

    def _on_reset(self, _: dict) -> None:
        self._restart()

    def _on_new_weights(self, _: dict) -> None:
        self.seed = secrets.randbelow(100_000)
        self._build()

    def _on_seed(self, message: dict) -> None:
        self.seed = message["value"]
        self._build()

    def _on_select(self, message: dict) -> None:
        param = message["param"]
        if param is not None:
            self._parameter(param)
        self.selected = param

    def _on_set_weight(self, message: dict) -> None:
        parameter, index = self._parameter(message["param"])
        parameter.data[index] = message["value"]
        self.phase, self.phase_values = None, None
        self._record()

    def _parameter(self, name: str) -> tuple[Any, tuple[int, ...]]:
        """The parameter tensor and element index named ``0.weight[1,0]`` (PyTorch's name)."""
        match = _PARAM.match(name.replace(" ", ""))
        parameters = dict(self.model.named_parameters())
        if match is None or f"{match[1]}.{match[2]}" not in parameters:
            raise ProtocolError(f"no parameter {name!r}; the parameters are {list(parameters)}, e.g. 0.weight[0,1]")
        parameter = parameters[f"{match[1]}.{match[2]}"]
        index = tuple(int(i) for i in match.groups()[2:] if i is not None)
        if len(index) != parameter.ndim or any(i >= s for i, s in zip(index, parameter.shape)):
            raise ProtocolError(f"{name} is outside {match[1]}.{match[2]}, of shape {tuple(parameter.shape)}")
        return parameter, index

    # ------------------------------------------------------------------ what the page draws
    def explanation(self) -> dict[str, Any] | None:
        """``chainrule.explain`` of the selected parameter on the next step's batch (see :mod:`.derivation`)."""
        if self.selected is None:
            return None
        x, y = self._peek_batch()
        return derivation.derivation(self.model, self.loss_fn, x, y, self.selected, self.training["lr"])

    def markdown(self) -> str:
        """The selected parameter's walk-through (or the whole step's) as Markdown."""
        with self.lock:
            x, y = self._peek_batch()
            return derivation.walkthrough_markdown(self.model, self.loss_fn, x, y, self.selected, self.training["lr"])

    def _heatmaps(self) -> dict[str, Any] | None:
        """Each unit's output over the plane (inputs, hidden units, output), as quantised bytes."""
        if not self.data.planar:
            return None
        coarse, fine = self.data.grid_features
        scale = xp.abs(coarse).max(axis=0)
        maps = [[_b64(coarse[:, j] / (scale[j] or 1)) for j in range(coarse.shape[1])]]
        with no_grad():
            h = Tensor(coarse)
            for layer in network_layers(self.model):
                h = layer.linear(h)
                if layer.activation is not None:
                    h = layer.activation(h)
                maps.append([_b64(h.data[:, k]) for k in range(h.shape[1])])
            out = self.model(Tensor(fine)).data
        if self.data.task == "classification":
            p = 1 / (1 + xp.exp(-out[:, 0])) if out.shape[1] == 1 else _softmax(out)[:, 1]
            output = 2 * p - 1
        else:
            output = out[:, 0]
        return {"resolution": HEATMAP_RESOLUTION, "output_resolution": OUTPUT_RESOLUTION, "units": maps,
                "output": _b64(output)}  # fmt: skip

    def _fitted(self) -> dict[str, Any] | None:
        """Regression without a plane: (target, prediction) of the test rows (or training rows)."""
        if self.data.task != "regression" or self.data.planar:
            return None
        x, y = (self.data.x_test, self.y_test) if self.data.x_test is not None else (self.data.x_train, self.y_train)
        x, y = x[:MAX_SHOWN_POINTS], y[:MAX_SHOWN_POINTS]
        with no_grad():
            out = self.model(Tensor(x)).data
        return {"target": y[:, 0].tolist(), "prediction": out[:, 0].tolist()}

    def points(self) -> dict[str, Any] | None:
        """The 2-D data points (train and test) and their labels, for the output plot."""
        d = self.data
        if not d.planar:
            return None
        return {
            "train": d.points_train.round(3).tolist(),
            "test": d.points_test.round(3).tolist(),
            "labels_train": d.labels_train.round(3).tolist(),
            "labels_test": d.labels_test.round(3).tolist(),
        }

    def network_shape(self) -> dict[str, Any]:
        """The layers as the diagram draws them: inputs, then each layer's units and activation."""
        layers = network_layers(self.model)
        return {
            "inputs": self.data.feature_names,
            "layers": [
                {"name": layer.name, "units": layer.units, "activation": layer.activation_name} for layer in layers
            ],
            "outputs": self.data.classes if self._outputs() > 1 else [],
        }

    def state(self, points: bool = True) -> dict[str, Any]:
        """Everything the page draws (the ``state`` message); the data points only with ``points``
        (they change with the data only: see ``data_version``)."""
        with self.lock, xp.errstate(all="ignore"):
            h = self.history
            return {
                "type": "state",
                "version": self.version,
                "playing": self.playing,
                "steps": self.steps,
                "epoch": self.epoch,
                "seed": self.seed,
                "message": self.message,
                "data": {
                    **self.data_config,
                    "task": self.data.task,
                    "classes": self.data.classes,
                    "description": self.data.description,
                    "train_rows": len(self.data.x_train),
                    "test_rows": 0 if self.data.x_test is None else len(self.data.x_test),
                    "planar": self.data.planar,
                    "upload": None
                    if self.upload is None
                    else {"name": self.upload_name, "columns": self.upload.columns},
                },
                "network": {**self.network, **self.network_shape()},
                "training": dict(self.training),
                "params": {name: p.data.tolist() for name, p in self.model.named_parameters()},
                "grads": {
                    name: None if p.grad is None else p.grad.tolist() for name, p in self.model.named_parameters()
                },
                "last_update": None
                if self.last_update is None
                else {name: delta.tolist() for name, delta in self.last_update.items()},
                "phase": self.phase,
                "phase_values": self.phase_values,
                "loss": {
                    "train": h["train"][-1],
                    "test": h["test"][-1],
                    "metric": "accuracy" if self.data.task == "classification" else "R²",
                    "metric_train": h["metric_train"][-1],
                    "metric_test": h["metric_test"][-1],
                },
                "history": h,
                "heatmaps": self._heatmaps(),
                "fitted": self._fitted(),
                "data_version": self.data_version,
                **({"points": self.points()} if points else {}),
                "selected": self.selected,
                "explanation": self.explanation(),
            }


def _softmax(z: Any) -> Any:
    e = xp.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def options(start: Start) -> dict[str, Any]:
    """What the page may choose from (the ``hello`` message): the library's names and the limits."""
    return {
        "model": start.model_name if start.model_data is not None else None,
        "playground": {name: task for name, (task, _) in PLAYGROUND_SETS.items()},
        "features": list(FEATURES),
        "datasets": [
            {"name": info.name, "task": info.task, "description": info.description}
            for info in chainrule.data.list_datasets()
            if info.bundled
        ],
        "examples": ["house-price"],
        "activations": list(workflow.ACTIVATIONS),
        "losses": {name: {"task": task, "description": text} for name, (_, task, text) in workflow.LOSSES.items()},
        "optimizers": list(workflow.OPTIMIZERS),
        "limits": LIMITS,
    }
