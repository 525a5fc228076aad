"""The paper's raw-audio VAE and the loaded model the rest of latentcode plays with.

The network is exactly the one of Tatar, Cotton and Bisig (SMC 2023), ``rawaudiovae``: frames
of 1024 samples at 44.1 kHz, ``fc1 1024→2048`` ReLU, ``fc21``/``fc22 2048→256`` (mu, logvar),
``fc3 256→2048`` ReLU, ``fc4 2048→1024`` tanh. Parameter names match the original code, so its
checkpoints load as they are.

>>> m = load_model()                       # the shipped default model
>>> mu, logvar = m.encode(frames)          # doctest: +SKIP
>>> audio = m.decode(mu)                   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from latentcode.errors import LatentcodeError
from latentcode.model import precision as _precision
from latentcode.model.net import VAE
from latentcode.model.threads import follow_threads

CHECKPOINT_FORMAT = "latentcode-vae-1"
# Rows per group of a decode's matrix products in fp32: a multiple of the BLAS kernels' row
# blocks (measured: 16 and its multiples give every row the same bits in any batch). Each
# precision has its own (precision.ALIGN).
BATCH_ALIGN = _precision.ALIGN["fp32"]
# A decode goes through its batch this many rows at a time (whole groups of BATCH_ALIGN, so a
# row's bits do not change): the working arrays (15 MB in int8x3) are made once at this size
# and never grow while playing, and a chunk's arrays stay nearer the core's caches. 256 rows
# decode as many frames a second as 1,120 at once.
DECODE_ROWS = 256
_PARAMS = ("fc1", "fc21", "fc22", "fc3", "fc4")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and audio settings of a model; the defaults are the paper's.

    ``corpus`` is a fingerprint of the training audio ('' when unknown).

    >>> ModelConfig().latent_dim, ModelConfig(latent_dim=16).segment
    (256, 1024)
    """

    segment: int = 1024
    n_units: int = 2048
    latent_dim: int = 256
    sample_rate: int = 44100
    hop: int = 128
    kl_beta: float = 1e-4
    corpus: str = ""

    def __post_init__(self) -> None:
        """Check every field before anything is sized from it: a config read from a file
        (``sample_rate: 10**9``) must be one clear line, not an allocation that never ends
        or a crash inside pyo.

        >>> ModelConfig(sample_rate=10**9)
        Traceback (most recent call last):
        latentcode.errors.LatentcodeError: model config: sample_rate is 1000000000, but it ...
        """
        for name, (low, high) in CONFIG_RANGES.items():
            value = getattr(self, name)
            if name == "kl_beta":
                ok = (isinstance(value, int | float) and not isinstance(value, bool)
                      and math.isfinite(value) and low <= value <= high)
                kind = "a number"
            else:
                if isinstance(value, float) and value.is_integer():
                    value = int(value)  # 44100.0 from a hand-written config is 44100
                    object.__setattr__(self, name, value)
                ok = (isinstance(value, int) and not isinstance(value, bool)
                      and low <= value <= high)
                kind = "an integer"
            if not ok:
                raise LatentcodeError(f"model config: {name} is {_shown(value)}, but it must "
                                      f"be {kind} from {low:g} to {high:g}")
        if not isinstance(self.corpus, str) or len(self.corpus) > 256:
            raise LatentcodeError(f"model config: corpus is {_shown(self.corpus)}, but it must "
                                  "be a fingerprint string of at most 256 characters")

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, so a checkpoint holding it loads with ``weights_only=True``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from a stored dict, ignoring keys this version does not know; every field is
        checked against :data:`CONFIG_RANGES` (one clear line naming the field otherwise).

        >>> ModelConfig.from_dict({"hop": -4})
        Traceback (most recent call last):
        latentcode.errors.LatentcodeError: model config: hop is -4, but it must be an integer ...
        """
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# The accepted range of each numeric field of a ModelConfig. Generous (tests use 64-sample
# frames, 22.05 kHz); the bounds keep a foreign config from sizing buffers, delay lines or
# layers that cannot be allocated.
CONFIG_RANGES: dict[str, tuple[float, float]] = {
    "segment": (16, 65536),
    "n_units": (1, 65536),
    "latent_dim": (1, 8192),
    "sample_rate": (8000, 192000),
    "hop": (1, 65536),
    "kl_beta": (0.0, 1e6),
}


def _shown(value: Any) -> str:
    """A stored value as a short readable text for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             kl_beta: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paper's loss: MSE (mean) + kl_beta · KL (mean over batch and latent dims).

    Returns (total, mse, kl) so training can show both parts.
    """
    mse = F.mse_loss(recon, x.view_as(recon), reduction="mean")
    kl = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
    return mse + kl_beta * kl, mse, kl


def _as_tensor(a: Any, width: int, what: str) -> torch.Tensor:
    """numpy or torch input → a float32 CPU tensor (n, width); 1-D input is one row."""
    if isinstance(a, torch.Tensor):
        t = a.detach().cpu()
    else:
        arr = np.asarray(a)
        if arr.dtype != np.float32 or not arr.flags.writeable or not arr.flags.c_contiguous:
            arr = np.array(arr, dtype=np.float32, order="C")  # torch wants writable memory
        t = torch.from_numpy(arr)
    if t.dtype != torch.float32:
        t = t.to(torch.float32)
    if t.dim() == 1:
        t = t.unsqueeze(0)
    if t.dim() != 2 or t.shape[1] != width:
        raise LatentcodeError(
            f"{what} must have shape (n, {width}), got {tuple(t.shape)}: "
            f"give {width} values per row"
        )
    return t


class LatentModel:
    """A loaded VAE ready to play: numpy in, numpy out, float32, no gradients.

    ``decode`` is one batched matrix product per layer for all frames of all voices, in the
    arithmetic of ``precision`` (:mod:`latentcode.model.precision`; the default when None),
    written into per-thread preallocated buffers; ``out=`` lets a caller reuse its own output
    array. The weights are read for decoding at the first decode: change them before it.

    >>> m = LatentModel(VAE(64, 32, 8), ModelConfig(segment=64, n_units=32, latent_dim=8))
    >>> m.decode(np.zeros((3, 8), np.float32)).shape
    (3, 64)
    """

    def __init__(self, net: VAE, config: ModelConfig, source: Path | None = None,
                 precision: str | None = None) -> None:
        self.net = net.float().eval().requires_grad_(False)
        self.config, self.source = config, source  # the file it was loaded from, if any
        self.precision = _precision.chosen(precision)
        self._decode: _precision.Decode | None = None  # made at the first decode
        self._scratch = _precision.Scratch(DECODE_ROWS)
        self._fingerprint: str | None = None
        self._heard: np.ndarray | None = None

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def segment(self) -> int:
        return self.config.segment

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def fingerprint(self) -> str:
        """A short hash of the sizes and weights, e.g. for cache keys: '3f9a0c21d4e5b677'."""
        if self._fingerprint is None:
            h = hashlib.sha1(repr((self.segment, self.config.n_units, self.latent_dim)).encode())
            for name, t in sorted(self.net.state_dict().items()):
                h.update(name.encode())
                h.update(t.detach().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    @property
    def heard_scale(self) -> np.ndarray:
        """How far the decoded frame moves per unit of each latent dimension (latent_dim,):
        the column norms of the decoder's two layers multiplied. Distances between latents
        scaled by it are distances as heard: in a model started from whitened principal
        components (``train --init pca``), every dimension has unit spread, and a weak
        component would otherwise count as much as the strongest.

        >>> m = LatentModel(VAE(16, 4, 2), ModelConfig(segment=16, n_units=4, latent_dim=2))
        >>> m.heard_scale.shape
        (2,)
        """
        if self._heard is None:
            w = self.net.fc4.weight @ self.net.fc3.weight
            self._heard = torch.linalg.vector_norm(w, dim=0).numpy().astype(np.float32)
        return self._heard

    def encode(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Frames (n, segment) → (mu, logvar), float32 numpy arrays (n, latent_dim)."""
        t = _as_tensor(x, self.segment, "audio frames")
        with torch.inference_mode():
            mu, logvar = self.net.encode(t)
        return mu.numpy(), logvar.numpy()

    def decode(self, z: Any, out: np.ndarray | None = None) -> np.ndarray:
        """Latents (n, latent_dim) → audio frames (n, segment) in [-1, 1], float32.

        With ``out`` (a C-contiguous float32 (n, segment) array) the frames are written there
        and ``out`` is returned, so a real-time caller allocates nothing per call.

        Each row's frame is the same bits whatever else is in the batch: the matrix products
        run on whole groups of rows (:data:`BATCH_ALIGN` in fp32, and ``precision.ALIGN`` for
        each precision; zero rows fill the last group), and
        the integer products of ``int8x3`` are exact. BLAS
        takes another path for a small or ragged batch, and its sums round differently there;
        with whole groups, a voice sounds the same whether it is decoded alone, beside others,
        from the frame cache or in another process of a parallel render.
        """
        t = _as_tensor(z, self.latent_dim, "latents")
        n = t.shape[0]
        if out is None:
            out = np.empty((n, self.segment), np.float32)
        elif out.shape != (n, self.segment) or out.dtype != np.float32:
            raise LatentcodeError(f"decode(out=) needs a float32 array of shape "
                                  f"({n}, {self.segment}), got {out.dtype} {out.shape}")
        y = torch.from_numpy(out)
        if self._decode is None:
            self._decode = _precision.make(self.precision, self.net)
        follow_threads()
        with torch.inference_mode():
            for a in range(0, n, DECODE_ROWS):
                self._decode_chunk(t[a : a + DECODE_ROWS], y[a : a + DECODE_ROWS])
        return out

    def _decode_chunk(self, t: torch.Tensor, y: torch.Tensor) -> None:
        """At most :data:`DECODE_ROWS` rows, zero rows filling the last group."""
        n, scratch, align = t.shape[0], self._scratch, _precision.ALIGN[self.precision]
        whole = -(-n // align) * align
        if whole == n:
            self._decode(t, y, scratch)
            return
        padded = scratch.get("z", whole, t.shape[1], torch.float32)
        padded[:n] = t
        padded[n:] = 0.0
        frames = scratch.get("padded", whole, self.segment, torch.float32)
        self._decode(padded, frames, scratch)
        y.copy_(frames[:n])

    def sample(self, mu: np.ndarray, logvar: np.ndarray, noise: float = 1.0,
               rng: np.random.Generator | None = None) -> np.ndarray:
        """z = mu + noise·eps·exp(0.5·logvar) (noise 0: mu itself, 1: the paper)."""
        mu = np.asarray(mu, np.float32)
        if noise == 0:
            return mu.copy()
        rng = rng or np.random.default_rng()
        eps = rng.standard_normal(mu.shape, dtype=np.float32)
        return mu + np.float32(noise) * eps * np.exp(0.5 * np.asarray(logvar, np.float32))

    def warm(self, n: int = 8) -> None:
        """Run one decode so the first real one has no start-up cost."""
        self.decode(np.zeros((n, self.latent_dim), np.float32))

    def __repr__(self) -> str:
        c = self.config
        return (f"LatentModel(segment={c.segment}, n_units={c.n_units}, "
                f"latent_dim={c.latent_dim}, sr={c.sample_rate}, hop={c.hop}, "
                f"fingerprint={self.fingerprint!r})")


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return Path(__file__).resolve().parent / "default.pt"


def _read_checkpoint(path: Path) -> Any:
    if not path.exists():
        raise LatentcodeError(f"no such model file: {str(path)!r}: check the path")
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" not in str(e).lower():  # no class reference inside: just not a checkpoint
            raise LatentcodeError(f"cannot read model file {str(path)!r}: it is not a PyTorch "
                                  "checkpoint or it is damaged") from e
        raise LatentcodeError(
            f"{str(path)!r} holds a pickled Python object (a whole model?), which latentcode "
            "does not unpickle: save the weights with torch.save(model.state_dict(), path)"
        ) from e
    except Exception as e:  # zip or torch errors: a truncated or foreign file
        raise LatentcodeError(
            f"cannot read model file {str(path)!r} ({type(e).__name__}): it is not a PyTorch "
            "checkpoint or it is damaged"
        ) from e


def _state_dict_of(obj: Any, path: Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The weights and the stored config (None when absent) of any supported layout."""
    config = None
    if isinstance(obj, dict) and "state_dict" in obj:
        config = obj.get("config") if isinstance(obj.get("config"), dict) else None
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise LatentcodeError(
            f"{str(path)!r} is not a VAE checkpoint: expected a state_dict or "
            "{'state_dict': ...} with fc1, fc21, fc22, fc3, fc4 weights"
        )
    # nn.DataParallel prefixes every name with 'module.'
    sd = {k.removeprefix("module."): v for k, v in obj.items()}
    missing = [f"{p}.{w}" for p in _PARAMS for w in ("weight", "bias") if f"{p}.{w}" not in sd]
    if missing:
        raise LatentcodeError(
            f"{str(path)!r} is not a VAE checkpoint of the paper's layout (missing "
            f"{', '.join(missing[:3])}): expected fc1, fc21, fc22, fc3, fc4 weights"
        )
    return sd, config


def _sizes(sd: dict[str, torch.Tensor]) -> tuple[int, int, int]:
    n_units, segment = sd["fc1.weight"].shape
    return int(segment), int(n_units), int(sd["fc21.weight"].shape[0])


def load_model(path: str | Path | None = None, config: ModelConfig | None = None,
               precision: str | None = None) -> LatentModel:
    """Load the shipped default model, or a checkpoint: ours, the original ``rawaudiovae``
    ``{'epoch', 'state_dict', 'optimizer'}`` file, or a bare state_dict.

    Never unpickles code (``weights_only=True``). Sizes come from the stored config, else from
    the weights; a ``config`` given here must agree with the weights. fp16 weights are
    converted to fp32. ``precision`` is the decoder's arithmetic (None: ``--precision``'s, or
    this CPU's default; :mod:`latentcode.model.precision`).

    >>> m = load_model()
    >>> m.segment, m.latent_dim, m.sample_rate
    (1024, 256, 44100)
    """
    p = default_model_path() if path is None else Path(path).expanduser()
    if path is None and not p.exists():
        raise LatentcodeError("the default model is missing from the package: reinstall "
                              "latentcode or pass a checkpoint with --model")
    sd, stored = _state_dict_of(_read_checkpoint(p), p)
    segment, n_units, latent = _sizes(sd)
    if config is None:
        try:
            config = ModelConfig.from_dict(stored) if stored else ModelConfig()
            if not stored:  # original checkpoints carry no sizes: take them from the weights
                config = replace(config, segment=segment, n_units=n_units, latent_dim=latent)
        except LatentcodeError as e:
            raise LatentcodeError(f"{str(p)!r}: {e}") from None
    want = (config.segment, config.n_units, config.latent_dim)
    if want != (segment, n_units, latent):
        raise LatentcodeError(
            f"{str(p)!r} has segment {segment}, n_units {n_units}, latent_dim {latent} but "
            f"the config says {want[0]}, {want[1]}, {want[2]}: fix the config or the file"
        )
    net = VAE(segment, n_units, latent)
    try:
        net.load_state_dict({k: v.float() for k, v in sd.items() if k.split(".")[0] in _PARAMS})
    except RuntimeError as e:
        line = str(e).splitlines()[-1].strip()
        raise LatentcodeError(f"{str(p)!r} has weights of inconsistent shapes ({line}): "
                              "it is not a checkpoint of this VAE") from e
    return LatentModel(net, config, p, precision)


def save_checkpoint(path: str | Path, net: VAE, config: ModelConfig, *, epoch: int = 0,
                    optimizer: dict | None = None, half: bool = False,
                    extra: dict | None = None) -> Path:
    """Write a checkpoint that both latentcode and the original code can read.

    Layout: ``{'epoch', 'state_dict', 'optimizer', 'config', 'format', ...extra}``. With
    ``half`` the weights are stored as fp16 (half the size; loading converts back to fp32).
    """
    sd = {k: (v.detach().half() if half else v.detach().float()).cpu().clone()
          for k, v in net.state_dict().items()}
    blob: dict[str, Any] = {
        "epoch": int(epoch),
        "state_dict": sd,
        "optimizer": optimizer,
        "config": config.to_dict(),
        "format": CHECKPOINT_FORMAT,
    }
    if extra:
        blob.update(extra)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    torch.save(blob, str(tmp))
    os.replace(tmp, p)  # never leave a half-written checkpoint under the real name
    return p
