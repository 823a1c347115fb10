"""Classifiers over span or pair representations: linear (SpERT) or MLP (ASpERT, eq. 8-9).
Built by a head with its input and output widths; the settings' defaults live in the
registered architectures."""
from torch import nn


def _check_dropout(dropout: float, where: str) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout}")


class LinearClassifier(nn.Module):
    @staticmethod
    def validate(dropout: float) -> None:
        _check_dropout(dropout, "LinearClassifier")

    def __init__(self, n_in: int, n_out: int, *, dropout: float):
        super().__init__()
        self.validate(dropout)
        self.layers = nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_out))

    def forward(self, features):
        return self.layers(features)


class MLPClassifier(nn.Module):
    @staticmethod
    def validate(hidden_width: int, dropout: float) -> None:
        _check_dropout(dropout, "MLPClassifier")
        if hidden_width < 1:
            raise ValueError(f"MLPClassifier: hidden_width must be >= 1, got {hidden_width}")

    def __init__(self, n_in: int, n_out: int, *, hidden_width: int, dropout: float):
        super().__init__()
        self.validate(hidden_width, dropout)
        self.layers = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(n_in, hidden_width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_width, n_out),
        )

    def forward(self, features):
        return self.layers(features)
