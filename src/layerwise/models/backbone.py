"""Image backbones from torchvision, under a head for this task (steps 2 and 4: pre-trained initialization).

`model.type: backbone` with `name:` any torchvision classification model (`resnet18`, `resnet50`,
`mobilenet_v3_small`, `efficientnet_b0`, `convnext_tiny`, `vit_b_16`, ...: torchvision's
`list_models(torchvision.models)`). The model is built by torchvision; its last Linear layer (the
1000-class ImageNet classifier: `fc`, `classifier.3`, `heads.head`, ...) becomes an identity, so the
body ends in its feature vector, and this block's own `head` (dropout, then Linear) reads it.

`weights`:
  none      torchvision's own initialization of that architecture (drawn under the run's seed)
  DEFAULT   torchvision's weights API: the model's default weights (or any other of its weight
            names, e.g. IMAGENET1K_V1), from torch's hub cache or downloaded into it; a failed
            download is an error naming the URL, never random weights in their place
  PATH      a local `.safetensors` or `.pth`/`.pt` state dict of the same torchvision model
            (`model.state_dict()` saved by safetensors' save_file, or by torch's save; a .pth is
            read with `weights_only=True`, tensors only, never as a pickle of code). Strict: every
            tensor of the body must be in the file with the same shape, and the file may hold
            nothing else but the replaced classifier; every mismatch is named in one error.

Weights are loaded when a run builds its model (`load_weights`, from experiment/steps.py), not
when a bundle is rebuilt: a bundle holds its own trained weights and never reads PATH again.
With weights, the head starts at zero (as for a transferred body, see transfer.py). Under
data.normalize: auto, torchvision's weights (DEFAULT or a weight name) read images normalized as
they were trained (`normalization`: ImageNet's mean and std, saved in the bundle's preprocessing);
a weights file, whose training statistics only its maker knows, reads them standardized on the
training split, as a model without weights does.

Fine-tuning: with weights, the body is frozen for the first `freeze_epochs` epochs (default 1;
training/freeze.py: its BatchNorm layers keep their running statistics while frozen), then trained
at `body_lr` times train.lr (default 0.1: discriminative learning rates) while the head keeps
train.lr. Without weights every layer trains at train.lr from the first epoch, and a config that
sets freeze_epochs or body_lr there is refused (config/schema.py), as they would change nothing.

A grayscale image is read as RGB by repeating its one channel (what converting it to RGB does),
so every backbone reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from ..errors import ConfigError, did_you_mean, needs_extra
from . import block as b
from .init import scheme_of
from .registry import register

# torchvision's classification weights were all trained on images scaled to [0, 1] and then
# normalized with ImageNet's channel statistics; its weight entries' transforms say so.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NO_WEIGHTS = "none"
STATE_SUFFIXES = (".safetensors", ".pth", ".pt")
SHOWN = 8  # mismatched tensors named in one message
# Models whose training forward returns auxiliary outputs (aux_logits), refused by name.
AUXILIARY = ("googlenet", "inception_v3")
# torchvision's densenet weights were published with older layer names; its loader renames them so.
_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def _models() -> Any:
    with needs_extra("images"):
        import torchvision.models

    return torchvision.models


def classification_models() -> list[str]:
    """The names torchvision builds classification models under."""
    models = _models()
    return sorted(models.list_models(module=models))


def names_a_file(weights: str) -> bool:
    """Whether model.weights names a file (a weights suffix or a folder in it), not none or a weight name."""
    return weights.endswith(STATE_SUFFIXES) or "/" in weights or "\\" in weights


@register("backbone")
class Backbone(b.Block):
    """A torchvision classification model's body, then dropout and a Linear head of width output_dim."""

    defaults: ClassVar[dict[str, Any]] = {
        "name": "resnet18",
        "weights": NO_WEIGHTS,
        "dropout": 0.0,
        "freeze_epochs": None,  # with weights: 1 (null: that default)
        "body_lr": None,  # with weights: 0.1 (null: that default)
    }
    example_input_shape = (3, 32, 32)

    def __init__(
        self,
        input_shape: Sequence[int],
        output_dim: int,
        name: str = "resnet18",
        weights: str = NO_WEIGHTS,
        dropout: float = 0.0,
        freeze_epochs: int | None = None,
        body_lr: float | None = None,
    ):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.name, self.weights = name, weights
        self.dropout = float(dropout) if isinstance(dropout, (int, float)) else dropout
        self.freeze_epochs, self.body_lr = freeze_epochs, body_lr
        self._check(self.input_shape, output_dim)
        self.body, self.classifier = _torchvision_body(name)
        self.features = _feature_width(self.body, self.input_shape, name)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.head = nn.Linear(self.features, output_dim)

    @classmethod
    def from_config(cls, cfg: dict, input_shape: Sequence[int], output_dim: int) -> b.Block:
        init = cfg.get("init")
        scheme = scheme_of(init)
        problems = []  # settings this block cannot honour are refused, never ignored
        if scheme != "auto":
            problems.append(
                f"model.init: {scheme!r} does not apply to a backbone, which starts from torchvision's "
                "initialization of its architecture or from model.weights"
            )
        weighted = (cfg.get("weights") or NO_WEIGHTS) != NO_WEIGHTS
        if weighted and isinstance(init, dict) and init.get("from"):
            problems.append(
                "model.init.from: a backbone with model.weights takes its body from the weights; both would "
                "load it (remove one)"
            )
        if weighted and isinstance(init, dict) and init.get("freeze"):
            problems.append(
                "model.init.freeze: a backbone with model.weights freezes its body by model.freeze_epochs "
                "(remove model.init.freeze)"
            )
        if problems:
            raise ConfigError(problems, hint="see the backbone's settings in docs/steps/4-initialize.md")
        return super().from_config(cfg, input_shape, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:  # grayscale, read as RGB
            x = x.expand(-1, 3, -1, -1)
        return self.head(self.drop(self.body(x)))  # (batch, output_dim)

    @property
    def pretrained(self) -> bool:
        return self.weights != NO_WEIGHTS

    @property
    def frozen_epochs(self) -> int:
        """The epochs the body stays frozen: freeze_epochs, 1 by default, with weights; 0 without."""
        return (1 if self.freeze_epochs is None else self.freeze_epochs) if self.pretrained else 0

    @property
    def body_share(self) -> float:
        """The body's share of train.lr: body_lr, 0.1 by default, with weights; 1 without."""
        return (0.1 if self.body_lr is None else float(self.body_lr)) if self.pretrained else 1.0

    def initialize_own(self, generator: torch.Generator | None) -> None:
        """The body: torchvision's own initialization of the architecture (its recipe, e.g.
        zero-initialized residual branches or a ViT's truncated normals), drawn again under a seed
        taken from `generator` (None: as drawn at construction); the head: Xavier with gain 1, as
        every block's head."""
        if generator is not None:
            seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
            with torch.random.fork_rng(devices=[]):  # built on the CPU: its generator alone, restored after
                torch.default_generator.manual_seed(seed)
                fresh, _ = _torchvision_body(self.name)
            self.body.load_state_dict(fresh.state_dict())
        nn.init.xavier_normal_(self.head.weight, generator=generator)
        nn.init.zeros_(self.head.bias)

    def load_weights(self, write: Callable[[str], None]) -> None:
        """Load `weights` into the body, when a run builds its model (never a bundle's, never a resumed
        run's: its checkpoint holds every tensor), and say so with the fine-tuning schedule."""
        if not self.pretrained:
            return
        state, source = self._state()
        loaded = load_body(self.body, state, self.classifier, source)
        nn.init.zeros_(self.head.weight)  # every class equally likely at first (transfer.py says why)
        nn.init.zeros_(self.head.bias)
        line = f"init: {self.name} body loaded from {source} ({loaded} tensors), head at zero"
        share = self.body_share
        if self.frozen_epochs == 0:
            write(f"{line}; body trained from the first epoch at {share:g} x train.lr")
        else:
            write(f"{line}; body frozen for {self.frozen_epochs} epoch(s), then trained at {share:g} x train.lr")

    def freeze_plan(self) -> tuple[list[str], int] | None:
        """What to freeze and the last frozen epoch (experiment/steps.py makes the Freeze callback), or None."""
        return (["body"], self.frozen_epochs) if self.frozen_epochs > 0 else None

    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's groups: the head at train.lr, the body at body_lr times it (with weights)."""
        return [
            {"params": list(self.head.parameters()), "lr_scale": 1.0},
            {"params": list(self.body.parameters()), "lr_scale": self.body_share},
        ]

    @classmethod
    def normalization(cls, cfg: dict[str, Any]) -> tuple[list[float], list[float]] | None:
        """(mean, std) per RGB channel the images are normalized with under data.normalize: auto:
        torchvision's weights' own (ImageNet's) for DEFAULT or a weight name; None (standard,
        fitted on the training split) without weights or for a file, whose statistics only its
        maker knows."""
        weights = cfg.get("weights") or NO_WEIGHTS
        if weights == NO_WEIGHTS or names_a_file(weights):
            return None
        return list(IMAGENET_MEAN), list(IMAGENET_STD)

    def _state(self) -> tuple[dict[str, torch.Tensor], str]:
        if names_a_file(self.weights):
            return read_state(Path(self.weights)), self.weights
        return _download(self.name, self.weights)

    def _problems(self) -> list[str]:
        problems = b.fraction("dropout", self.dropout)
        if not isinstance(self.name, str) or not self.name:
            problems.append(f"model.name: {self.name!r} must be a torchvision model name, e.g. resnet18")
        elif self.name in AUXILIARY:
            problems.append(
                f"model.name: {self.name} trains with auxiliary classifiers and a transformed input that this "
                "block does not set up; choose another model (resnet50, efficientnet_b0, convnext_tiny, ...)"
            )
        elif self.name not in (known := classification_models()):
            problems.append(
                f"model.name: {self.name!r} is not a torchvision classification model"
                f"{did_you_mean(self.name, known)}; e.g. resnet18, mobilenet_v3_small, efficientnet_b0"
            )
        if not isinstance(self.weights, str) or not self.weights:
            problems.append(f"model.weights: {self.weights!r} must be none, DEFAULT or the path of a weights file")
        frozen = self.freeze_epochs
        if frozen is not None and (not b.is_int(frozen) or frozen < 0):
            problems.append(f"model.freeze_epochs: {frozen!r} must be a whole number >= 0")
        scale = self.body_lr
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1):
            problems.append(f"model.body_lr: {scale!r} must be in (0, 1]: the body's share of train.lr")
        if len(self.input_shape) != 3 or self.input_shape[0] not in (1, 3):
            problems.append(
                f"model.type: backbone reads images of 1 or 3 channels, (channels, height, width); this data "
                f"gives {self.input_shape}"
            )
        return problems


def _torchvision_body(name: str) -> tuple[nn.Module, str]:
    """torchvision's model `name` (random weights) with its last Linear layer replaced by an
    identity, and that layer's name (its tensors are what a weights file may hold besides the body's)."""
    models = _models()
    model = models.get_model(name, weights=None)
    last = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ConfigError(
            f"model.name: {name} ends in no Linear classifier layer to replace with this task's head",
            hint="choose a model with a Linear classifier, e.g. resnet18, mobilenet_v3_small, efficientnet_b0",
        )
    parent, _, child = last[-1].rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, nn.Identity())
    return model, last[-1]


def _feature_width(body: nn.Module, input_shape: tuple[int, ...], name: str) -> int:
    """The width of the body's feature vector, from one forward pass on zeros of the data's shape;
    a ConfigError when the architecture cannot read images of that size."""
    was = body.training
    body.eval()
    try:
        with torch.no_grad():
            out = body(torch.zeros(1, 3, *input_shape[1:]))
    except (RuntimeError, AssertionError, ValueError) as error:
        why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(
            f"model.name: {name} cannot read images of {input_shape[1]}x{input_shape[2]} pixels ({why})",
            hint="set data.image.size to the size the model was made for (224 x 224 for most of torchvision's)",
        ) from None
    finally:
        body.train(was)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(
            f"model.name: {name}'s body gives {shape}, not one feature vector per image",
            hint="choose a classification model such as resnet18, mobilenet_v3_small or efficientnet_b0",
        )
    return int(out.shape[1])


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file, or a .pth/.pt one read with weights_only (tensors, no code)."""
    where = f"model.weights: {path}"
    if not path.is_file():
        raise ConfigError(
            f"{where}: no such file", hint="give the path of a .safetensors or .pth state dict, or none / DEFAULT"
        )
    if path.suffix not in STATE_SUFFIXES:
        raise ConfigError(f"{where}: not a weights file", hint=f"use a file ending in {', '.join(STATE_SUFFIXES)}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated file, a pickle of code, not a state dict at all
        raise ConfigError(
            f"{where}: cannot be read as a state dict ({type(error).__name__}: {str(error).splitlines()[0][:200]})",
            hint="save model.state_dict() with safetensors' save_file (a .safetensors file)",
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(
            f"{where}: holds a {type(state).__name__}, not a state dict of tensors by name",
            hint="save model.state_dict() itself, not a checkpoint around it",
        )
    return state


def load_body(body: nn.Module, state: dict[str, torch.Tensor], classifier: str, source: str) -> int:
    """Copy `state` into `body`, strictly: the replaced classifier's tensors are left out; any other
    tensor missing, extra or of another shape is named in one ConfigError. Returns the tensors loaded."""
    own = body.state_dict()
    given = {k: v for k, v in state.items() if not k.startswith(classifier + ".")}
    missing = [k for k in own if k not in given]
    extra = [k for k in given if k not in own]
    shapes = [
        f"{k}: the model {tuple(own[k].shape)}, the file {tuple(given[k].shape)}"
        for k in own
        if k in given and own[k].shape != given[k].shape
    ]
    problems = (
        [f"shape differs, {s}" for s in shapes]
        + [f"missing from the file: {k}" for k in missing]
        + [f"not in the model: {k}" for k in extra]
    )
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise ConfigError(
            [f"model.weights: {source} does not fit the model ({len(problems)} tensors){more}", *problems[:SHOWN]],
            hint="give the weights of the same torchvision model as model.name, saved from its state_dict()",
        )
    body.load_state_dict(given, strict=True)
    return len(given)


def _download(name: str, weights: str) -> tuple[dict[str, torch.Tensor], str]:
    """torchvision's weights `weights` (DEFAULT or a weight name) of model `name`, from torch's hub
    cache or downloaded into it, as tensors (weights_only)."""
    models = _models()
    enum = models.get_model_weights(name)
    names = ["DEFAULT", *enum.__members__]
    if weights not in names:
        raise ConfigError(
            f"model.weights: {weights!r} is not a weights file, none, or one of {name}'s weights"
            f"{did_you_mean(weights, names)}: {', '.join(names)}",
            hint="give a path ending in .safetensors or .pth for a local file",
        )
    entry = enum.DEFAULT if weights == "DEFAULT" else enum[weights]
    try:
        state = torch.hub.load_state_dict_from_url(
            entry.url, progress=False, map_location="cpu", check_hash=True, weights_only=True
        )
    except Exception as error:  # offline, a proxy, a partial file: say where they are
        raise ConfigError(
            f"model.weights: {weights} of {name} could not be read from torch's cache or downloaded from "
            f"{entry.url} ({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''})",
            hint=f"download it where there is a network and give its path (model.weights: PATH), or put it in "
            f"{torch.hub.get_dir()}/checkpoints",
        ) from None
    if name.startswith("densenet"):
        state = {_DENSENET_KEY.sub(r"\1\2", key): value for key, value in state.items()}
    return state, f"torchvision {name} {entry}"
