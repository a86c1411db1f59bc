"""Data augmentation: random changes to training batches, for when data is scarce.

Every transform here is `fn(x, generator) -> x` over a whole batch on its own device:
vectorized tensor ops with per-sample random parameters, no per-sample Python and no PIL.
`Trainer(..., augment=fn)` applies it to training batches only, never to validation or
predictions, with a generator seeded per (seed, epoch, step, rank), so augmented runs stay
reproducible. Every transform is off at its default.

Images, (batch, channels, H, W) in normalized pixel space z = (p - shift) / divide:
    flip        horizontal | vertical | both | none (default none: a flipped 2 is not a 2)
    shift       move by up to a fraction of height / width, blank pixels filled with black
                (padding then randomly cropping back to size is the same thing)
    rotate      turn by up to +-degrees about the centre (affine_grid + grid_sample), black corners
    brightness  multiply raw pixels by 1 + U(-b, b)
The per-image keys crop, color and policy (ITEM_KEYS) are torchvision.transforms.v2 transforms
applied where images are loaded, one image at a time (data/image_loader.py), not here.
mixup and cutmix blend images and their labels (`mixer`): the Trainer's `mix`, after `augment`.
"Black" means a raw pixel of 0, which normalization moved to `zero` = -shift / divide per
channel; shifting, rotating and brightening work relative to it, so a normalized image
behaves as its raw pixels would.

Series windows, (batch, lookback, features), already scaled:
    jitter  add N(0, std) noise, std in normalized units
    scale   multiply each window's deviation from `about` by 1 + N(0, s)
    slice   window slicing (Le Guennec et al. 2016): a contiguous sub-window of a fraction
            of the lookback, stretched back to full length by linear interpolation; for
            forecasting the sub-window ends at the last step, which the forecast follows
Jitter also applies to tables, to the numeric feature columns only (one-hot and ordinal
codes, booleans and date parts are left alone): Gaussian noise on standardized inputs is a
known regularizer (Bishop 1995: equivalent to Tikhonov regularization for small noise).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

# The `data.augment` keys, their "off" values, and the data kind each applies to.
OFF: dict[str, Any] = {
    "flip": "none",
    "shift": 0.0,
    "rotate": 0.0,
    "brightness": 0.0,
    "jitter": 0.0,
    "scale": 0.0,
    "slice": 1.0,
    "crop": 1.0,
    "color": 0.0,
    "policy": "none",
    "mixup": 0.0,
    "cutmix": 0.0,
}
# Per-image transforms (torchvision.transforms.v2), applied where images are loaded (data/image_loader.py)
ITEM_KEYS = ("crop", "color", "policy")
# Batch transforms that blend images and their labels: the Trainer's `mix` (`mixer` here)
MIX_KEYS = ("mixup", "cutmix")
IMAGE_KEYS = ("flip", "shift", "rotate", "brightness", *ITEM_KEYS, *MIX_KEYS)
SERIES_KEYS = ("jitter", "scale", "slice")
TABLE_KEYS = ("jitter",)
TAKES = {"images": IMAGE_KEYS, "series": SERIES_KEYS, "table": TABLE_KEYS, "text": ()}
FLIPS = ("none", "horizontal", "vertical", "both")


# -- images ---------------------------------------------------------------------------------
def flip(x: torch.Tensor, generator: torch.Generator, mode: str = "none") -> torch.Tensor:
    """Mirror each image with probability 1/2 (left-right, top-bottom, or each independently
    for `both`). Default none: digits and text must not be flipped."""
    if mode not in FLIPS:
        raise ConfigError(f"data.augment.flip: {mode!r} is not one of {', '.join(FLIPS)}")
    dims = {"none": (), "horizontal": (-1,), "vertical": (-2,), "both": (-1, -2)}[mode]
    for dim in dims:
        chosen = _uniform(x.shape[0], generator, x.device) < 0.5  # (batch,)
        x = torch.where(chosen.view(-1, 1, 1, 1), x.flip(dim), x)
    return x


def shift(
    x: torch.Tensor,
    generator: torch.Generator,
    fraction: float = 0.0,
    *,
    fill: str = "zero",
    zero: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Move each image by whole pixels, up to round(fraction * size) each way (default 0: off).

    The pixels uncovered are black (`fill="zero"`: the normalized value `zero` of a raw 0
    pixel) or copies of the nearest edge pixel (`fill="edge"`).
    """
    if fraction <= 0:
        return x
    n, _, h, w = x.shape
    dy = _offsets(n, round(fraction * h), generator, x.device)  # (batch,)
    dx = _offsets(n, round(fraction * w), generator, x.device)
    rows = torch.arange(h, device=x.device)[None, :] - dy[:, None]  # (batch, H) source row
    cols = torch.arange(w, device=x.device)[None, :] - dx[:, None]  # (batch, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]  # (batch, H, W)
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w).expand(-1, x.shape[1], -1)
    moved = x.reshape(n, x.shape[1], h * w).gather(2, index).reshape(x.shape)
    if fill == "edge":
        return moved
    if fill != "zero":
        raise ConfigError(f"shift: fill must be 'zero' or 'edge', got {fill!r}")
    return torch.where(inside[:, None], moved, _per_channel(zero, x))


def rotate(
    x: torch.Tensor, generator: torch.Generator, degrees: float = 0.0, *, zero: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Turn each image about its centre by U(-degrees, degrees) (default 0: off), bilinear,
    corners filled black (the normalized value `zero` of a raw 0 pixel)."""
    if degrees <= 0:
        return x
    n, _, h, w = x.shape
    angle = (_uniform(n, generator, x.device) * 2 - 1) * math.radians(degrees)  # (batch,)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid works in [-1, 1] coordinates per axis; the H/W factors keep a
    # rotation of a non-square image a rotation rather than a shear.
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=torch.float32)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)  # (batch, H, W, 2)
    black = _per_channel(zero, x)
    # grid_sample pads with 0, so sample the image relative to black and add black back
    out = F.grid_sample((x - black).float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(x.dtype) + black


def brightness(
    x: torch.Tensor, generator: torch.Generator, amount: float = 0.0, *, zero: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Multiply each image's raw pixels by 1 + U(-amount, amount) (default 0: off).

    In normalized space that is z' = zero + (z - zero) * (1 + u): black stays black and every
    other pixel moves by the same relative amount, as in torchvision's ColorJitter (not clamped).
    """
    if amount <= 0:
        return x
    factor = 1 + (_uniform(x.shape[0], generator, x.device) * 2 - 1) * amount  # (batch,)
    black = _per_channel(zero, x)
    return black + (x - black) * factor.view(-1, 1, 1, 1).to(x.dtype)


# -- series (and tables, for jitter) ---------------------------------------------------------
def jitter(
    x: torch.Tensor, generator: torch.Generator, std: float = 0.0, *, columns: torch.Tensor | None = None
) -> torch.Tensor:
    """Add Gaussian noise of standard deviation `std` in normalized units (default 0: off);
    with `columns` (a boolean mask over the last dim), only to those features."""
    if std <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) * std
    if columns is not None:
        noise = noise * columns.to(device=x.device, dtype=x.dtype)
    return x + noise


def scale(
    x: torch.Tensor, generator: torch.Generator, std: float = 0.0, *, about: torch.Tensor | float | str = 0.0
) -> torch.Tensor:
    """Multiply each window by 1 + N(0, std), one factor per sample (default 0: off).

    The window is scaled about `about`: a value per feature (e.g. the normalized value of "no
    change" for differenced series, so the changes themselves are scaled), or "last" (each
    window's last row: the level a forecast is measured against stays put, its history is
    stretched or squeezed around it).
    """
    if std <= 0:
        return x
    factor = 1 + torch.randn(x.shape[0], 1, 1, generator=generator, device=x.device, dtype=x.dtype) * std
    if isinstance(about, str):
        if about != "last":
            raise ConfigError(f"scale: about must be a value per feature or 'last', got {about!r}")
        center = x[:, -1:, :]  # (batch, 1, features)
    else:
        center = torch.as_tensor(about, device=x.device, dtype=x.dtype)
    return center + (x - center) * factor


def slice(
    x: torch.Tensor, generator: torch.Generator, fraction: float = 1.0, *, anchor: str = "random"
) -> torch.Tensor:
    """Window slicing: stretch a sub-window covering `fraction` of the lookback back to the full
    length by linear interpolation (default 1.0: off).

    anchor "random" (Le Guennec et al. 2016): sub-windows of exactly `fraction`, at a random
    start. anchor "end" (forecasting): each sub-window ends at the last step, so the most
    recent observation, which the forecast follows, is kept; its length is U(fraction, 1).
    """
    if fraction >= 1 or x.shape[1] < 2:
        return x
    n, steps = x.shape[0], x.shape[1]
    span = steps - 1  # positions run 0 .. steps - 1
    u = _uniform(n, generator, x.device)  # (batch,)
    if anchor == "random":
        length = torch.full_like(u, fraction * span)
        start = u * (span - length)
    elif anchor == "end":
        length = (fraction + u * (1 - fraction)) * span
        start = span - length
    else:
        raise ConfigError(f"slice: anchor must be 'random' or 'end', got {anchor!r}")
    step = torch.arange(steps, device=x.device, dtype=torch.float32) / span  # (lookback,) in [0, 1]
    where = start[:, None] + length[:, None] * step[None, :]  # (batch, lookback)
    low = where.floor().long().clamp(0, span - 1)
    weight = (where - low).clamp(0, 1).to(x.dtype)[:, :, None]  # (batch, lookback, 1)
    index = low[:, :, None].expand(-1, -1, x.shape[2])
    return x.gather(1, index) * (1 - weight) + x.gather(1, index + 1) * weight


# -- composing from the config ---------------------------------------------------------------
class Compose:
    """Apply transforms in order, all drawing on the one generator: `Compose([...])(x, g)`."""

    def __init__(self, transforms: Sequence[Augment], names: Sequence[str] = ()):
        self.transforms = list(transforms)
        self.names = list(names)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x, generator)
        return x

    def __repr__(self) -> str:
        return f"Compose({', '.join(self.names)})"


def active(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The keys of a `data.augment` section that are switched on, with their values."""
    return {k: v for k, v in (settings or {}).items() if k in OFF and v != OFF[k]}


def check(settings: dict[str, Any] | None, kind: str) -> list[str]:
    """One problem per transform that is on but does not apply to `kind` (images, series, table, text)."""
    where = {
        "images": "image data (a folder of class folders, or image arrays)",
        "series": "series windows (task.type: forecast)",
        "table": "tables (numeric feature columns)",
    }
    problems = []
    for key in active(settings):
        if key in TAKES[kind]:
            continue
        takes = [where[k] for k, keys in TAKES.items() if key in keys]
        problems.append(
            f"data.augment.{key}: applies to {' and '.join(takes)}, not to {_kind_words(kind)}; "
            f"remove it (here data.augment takes {', '.join(TAKES[kind]) or 'nothing'})"
        )
    return problems


def from_config(
    settings: dict[str, Any] | None,
    kind: str,
    *,
    zero: Sequence[float] | None = None,
    about: Sequence[float] | float | str = 0.0,
    columns: Sequence[bool] | None = None,
) -> Compose | None:
    """The transforms a `data.augment` section switches on for `kind`, or None when all are off.

    images: `zero` is the normalized value of a raw 0 pixel per channel (-shift / divide).
    series: `about` is what `scale` scales about ("last", or a value per feature); slicing is
    anchored at the end, since a forecast follows the window's last step.
    table: `columns` marks the numeric feature columns that jitter may touch.
    Order: geometry first (flip, shift, rotate; slice), then values (brightness; scale, jitter).
    """
    # per image (ITEM_KEYS) and label-blending (MIX_KEYS, `mixer`) transforms are made elsewhere
    on = {k: v for k, v in active(settings).items() if k not in ITEM_KEYS + MIX_KEYS}
    problems = check(settings, kind)
    if problems:
        raise ConfigError(problems, hint="remove those keys from data.augment (or set them to their off values)")
    black = torch.tensor(list(zero) if zero is not None else [0.0], dtype=torch.float32)
    mask = None if columns is None else torch.tensor(list(columns), dtype=torch.bool)
    pivot = about if isinstance(about, str) else torch.tensor(about, dtype=torch.float32)
    makers: dict[str, Callable[[Any], Augment]] = {
        "flip": lambda v: lambda x, g: flip(x, g, v),
        "shift": lambda v: lambda x, g: shift(x, g, v, zero=black),
        "rotate": lambda v: lambda x, g: rotate(x, g, v, zero=black),
        "brightness": lambda v: lambda x, g: brightness(x, g, v, zero=black),
        "slice": lambda v: lambda x, g: slice(x, g, v, anchor="end"),
        "scale": lambda v: lambda x, g: scale(x, g, v, about=pivot),
        "jitter": lambda v: lambda x, g: jitter(x, g, v, columns=mask),
    }
    order = ["flip", "shift", "rotate", "brightness", "slice", "scale", "jitter"]
    names = [k for k in order if k in on]
    if kind == "table" and mask is not None and not bool(mask.any()):
        names = [k for k in names if k != "jitter"]  # no numeric column: nothing to jitter
    if not names:
        return None
    return Compose([makers[k](on[k]) for k in names], names=[f"{k} {on[k]}" for k in names])


def describe(settings: dict[str, Any] | None) -> str:
    """The switched-on transforms in words, for the run log: 'rotate ±15°, shift ±10%'."""
    words = {
        "flip": lambda v: f"flip {v}",
        "shift": lambda v: f"shift ±{v * 100:g}%",
        "rotate": lambda v: f"rotate ±{v:g}°",
        "brightness": lambda v: f"brightness ±{v * 100:g}%",
        "jitter": lambda v: f"jitter std {v:g}",
        "scale": lambda v: f"scale std {v:g}",
        "slice": lambda v: f"slice {v * 100:g}-100% of the lookback",
        "crop": lambda v: f"random crops of {v * 100:g}-100% of the area",
        "color": lambda v: f"colour jitter ±{v * 100:g}%",
        "policy": lambda v: f"{v} policy",
        "mixup": lambda v: f"mixup Beta({v:g}, {v:g})",
        "cutmix": lambda v: f"cutmix Beta({v:g}, {v:g})",
    }
    return ", ".join(words[k](v) for k, v in active(settings).items())


# -- blending images and labels ---------------------------------------------------------------
Mix = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def mixer(settings: dict[str, Any] | None, classes: int) -> Mix | None:
    """mixup (Zhang et al. 2018) and cutmix (Yun et al. 2019) of (batch, channels, H, W) images with
    their labels, or None when both are off; with both on, each batch takes one, chosen at random.

    Labels become class probabilities (batch, classes) blended by the same share (class indices
    are one-hot first; a binary model's (batch, 1) float labels are blended as they are). The
    share is drawn from Beta(alpha, alpha); cutmix's box covers 1 - share of the image, clipped at
    the edges, and the labels follow the area actually pasted."""
    on = {k: float(v) for k, v in active(settings).items() if k in MIX_KEYS}
    if not on:
        return None
    kinds = sorted(on)

    def mix(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        draw = torch.randint(0, 2**62, (2,), generator=generator, device=generator.device).tolist()
        rng = np.random.default_rng(draw[0])  # Beta has no torch generator argument
        kind = kinds[draw[1] % len(kinds)]
        share = float(rng.beta(on[kind], on[kind]))
        partner = torch.randperm(x.shape[0], generator=generator, device=generator.device)  # (batch,)
        if kind == "mixup":
            x = share * x + (1 - share) * x[partner]
        else:
            h, w = x.shape[-2:]
            side = math.sqrt(1 - share)
            cy, cx = int(rng.integers(h)), int(rng.integers(w))
            top, bottom = max(cy - round(h * side / 2), 0), min(cy + round(h * side / 2), h)
            left, right = max(cx - round(w * side / 2), 0), min(cx + round(w * side / 2), w)
            x = x.clone()
            x[..., top:bottom, left:right] = x[partner][..., top:bottom, left:right]
            share = 1 - (bottom - top) * (right - left) / (h * w)
        soft = y.to(x.dtype) if y.is_floating_point() else F.one_hot(y.reshape(-1).long(), classes).to(x.dtype)
        return x, share * soft + (1 - share) * soft[partner]

    return mix


# -- small pieces ----------------------------------------------------------------------------
def _uniform(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device)  # (n,) in [0, 1)


def _offsets(n: int, most: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """(n,) whole-pixel offsets in -most .. most."""
    return torch.randint(-most, most + 1, (n,), generator=generator, device=device)


def _per_channel(value: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """A scalar or one value per channel, shaped to broadcast over (batch, channels, H, W)."""
    value = torch.as_tensor(value, dtype=x.dtype, device=x.device).reshape(-1)
    return value.view(1, -1, 1, 1)


def _kind_words(kind: str) -> str:
    return {"images": "image data", "series": "series windows", "table": "tables", "text": "text (generation)"}[kind]


def numeric_columns(pre: Any) -> list[bool]:
    """Per output column of a fitted Preprocessor, whether it is a scaled numeric feature (the
    columns table jitter may touch): one-hot and ordinal codes, booleans and date parts are not."""
    mask: list[bool] = []
    for name in pre.feature_names:
        state = pre.columns.get(name)
        mask.append(state is not None and state["kind"] == "numeric")
    return mask
