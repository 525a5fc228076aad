"""Start the paper's network as the best linear code of its latent size (``train --init pca``).

A network trained from random weights on our corpus stays below what the plainest code of
the same size does: the principal components of the training frames. So ``--init pca``
writes those components into the network before training, and training goes on from there:

- **encoder**: ``mu = Pᵀ(x - mean) / s``, the frame's components, each divided by its
  standard deviation ``s`` so that every latent dimension has unit variance, as the VAE's
  prior N(0, 1) expects (clusters, prior paths and ``noise`` all assume that scale);
- **decoder**: ``P·(s·z) + mean``, then the network's tanh;
- each linear map goes through a ReLU layer as a pair of units, ``relu(u) - relu(-u) = u``,
  so the layers stay exactly the paper's: ``2·latent_dim`` of the hidden units carry the
  code, and the others keep their random start with nothing reading them, free for training
  to use for what a linear code cannot do;
- ``logvar`` starts at :data:`START_LOGVAR` everywhere: sampling noise 1% of each
  dimension's spread (``-40 dB``), which training then sets.

>>> net = VAE(segment=8, n_units=16, latent_dim=8)
>>> frames = torch.randn(500, 8) * torch.linspace(0.01, 0.1, 8)
>>> start_linear(net, frames)
>>> mu, logvar = net.encode(frames)
>>> bool(torch.allclose(mu.std(0), torch.ones(8), atol=1e-2))  # whitened
True
>>> bool(torch.allclose(net.decode(mu), torch.tanh(frames), atol=1e-5))  # all 8 components
True
"""

from __future__ import annotations

import torch

from latentcode.errors import LatentcodeError
from latentcode.model.vae import VAE

START_LOGVAR = -9.2  # exp(-9.2 / 2) = 0.01: sampling noise at 1% of each dimension's spread
MAX_FRAMES = 100_000  # frames the components are computed from (evenly spread over the data)


def principal_components(frames: torch.Tensor, k: int
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean, basis (segment, k), standard deviation of each component (k)) of ``frames``
    (n, segment), largest component first, computed in float64.

    >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [0.0, -0.5]])
    >>> mean, basis, s = principal_components(x, 1)
    >>> basis.abs().flatten().tolist(), round(float(s[0]), 3)
    ([1.0, 0.0], 0.707)
    """
    x = frames.double()
    mean = x.mean(0)
    centred = x - mean
    values, vectors = torch.linalg.eigh(centred.T @ centred / len(x))  # ascending
    order = torch.arange(len(values) - 1, len(values) - 1 - k, -1)
    scale = values[order].clamp_min(0).sqrt()
    # a component with no spread (fewer distinct frames than latent dims) keeps a tiny scale
    # instead of dividing by zero: its dimension then carries nothing, as it should
    scale = scale.clamp_min(float(scale[0]) * 1e-6 if scale[0] > 0 else 1e-12)
    return mean.float(), vectors[:, order].float(), scale.float()


@torch.no_grad()
def start_linear(net: VAE, frames: torch.Tensor, logvar: float = START_LOGVAR) -> None:
    """Write the whitened principal components of ``frames`` into ``net`` (see the module's
    docstring); the layers not named there keep their values."""
    k, seg, units = net.latent_dim, net.segment, net.n_units
    if 2 * k > units or k > seg:
        raise LatentcodeError(f"--init pca needs at least twice as many units as latent "
                              f"dimensions and no more dimensions than samples a frame: "
                              f"{units} units, {k} dimensions, {seg} samples; give "
                              f"--n-units {max(2 * k, units)} or a smaller --latent-dim")
    mean, basis, scale = principal_components(frames, k)
    to_code = (basis / scale).T                 # (k, seg): whitened components
    fc1, fc3, fc4 = net.fc1, net.fc3, net.fc4
    pos, neg = slice(0, k), slice(k, 2 * k)
    fc1.weight[pos], fc1.bias[pos] = to_code, -(to_code @ mean)
    fc1.weight[neg], fc1.bias[neg] = -to_code, to_code @ mean
    eye = torch.eye(k)
    net.fc21.weight.zero_()
    net.fc21.weight[:, pos], net.fc21.weight[:, neg] = eye, -eye
    net.fc21.bias.zero_()
    net.fc22.weight.zero_()
    net.fc22.bias.fill_(logvar)
    fc3.weight[pos], fc3.weight[neg] = eye, -eye
    fc3.bias[: 2 * k] = 0.0
    from_code = basis * scale                   # (seg, k)
    fc4.weight.zero_()  # the spare units start unread: the code alone is the decoder
    fc4.weight[:, pos], fc4.weight[:, neg] = from_code, -from_code
    fc4.bias.copy_(mean)
