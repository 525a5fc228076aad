"""The paper's fully connected VAE as a torch module, and nothing else: the loaded model that
plays with it is :class:`latentcode.model.vae.LatentModel`.

>>> VAE(segment=64, n_units=32, latent_dim=8).decode(torch.zeros(2, 8)).shape
torch.Size([2, 64])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class VAE(nn.Module):
    """The paper's fully connected VAE (parameter names as in ``rawaudiovae``).

    >>> v = VAE(segment=1024, n_units=2048, latent_dim=256)
    >>> [n for n, _ in v.named_children()]
    ['fc1', 'fc21', 'fc22', 'fc3', 'fc4']
    """

    def __init__(self, segment: int = 1024, n_units: int = 2048, latent_dim: int = 256) -> None:
        super().__init__()
        self.segment = segment
        self.n_units = n_units
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(segment, n_units)
        self.fc21 = nn.Linear(n_units, latent_dim)
        self.fc22 = nn.Linear(n_units, latent_dim)
        self.fc3 = nn.Linear(latent_dim, n_units)
        self.fc4 = nn.Linear(n_units, segment)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (n, segment) → (mu, logvar), each (n, latent_dim)."""
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + eps·exp(0.5·logvar), eps ~ N(0, 1)."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (n, latent_dim) → frames (n, segment) in [-1, 1]."""
        return torch.tanh(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, self.segment))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar
