"""Classifier heads: linear (SpERT) or MLP (ASpERT, eq. 8-9)."""
from torch import nn


class LinearClassifier(nn.Module):
    def __init__(self, n_in: int, n_out: int, dropout: float = 0.1):
        super().__init__()
        self.layers = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_out))

    def forward(self, features):
        return self.layers(features)


class MLPClassifier(nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden_width: int = 150, dropout: float = 0.1):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(n_in, hidden_width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_width, n_out),
        )

    def forward(self, features):
        return self.layers(features)
