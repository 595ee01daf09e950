"""A small residual 1-D CNN over beat windows with RR features joined before the head."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CnnConfig:
    in_channels: int
    window_length: int
    n_rr: int
    n_classes: int = 5
    widths: tuple[int, ...] = (16, 32, 64)
    kernel_size: int = 7
    rr_hidden: int = 32
    hidden: int = 64
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


class ResidualBlock(nn.Module):
    """Two convolutions with a shortcut, then max pooling that halves the length."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int):
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False),
            nn.BatchNorm1d(c_out),
        )
        self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out))
        self.pool = nn.MaxPool1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.body(x) + self.shortcut(x)))


class BeatCNN(nn.Module):
    """Convolution + pooling over the beat channels; fully connected layers over the
    pooled morphology joined with the RR features; one logit per AAMI class."""

    def __init__(self, config: CnnConfig):
        super().__init__()
        self.config = config
        blocks, c_in = [], config.in_channels
        for width in config.widths:
            blocks.append(ResidualBlock(c_in, width, config.kernel_size))
            c_in = width
        self.features = nn.Sequential(*blocks)
        self.rr = nn.Sequential(nn.Linear(config.n_rr, config.rr_hidden), nn.ReLU(inplace=True))
        self.head = nn.Sequential(
            nn.Linear(2 * c_in + config.rr_hidden, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.n_classes),
        )

    def forward(self, beats: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        x = self.features(beats)
        pooled = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)
        return self.head(torch.cat([pooled, self.rr(rr)], dim=1))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_size_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def fused_for_inference(model: BeatCNN) -> BeatCNN:
    """An evaluation-mode copy of `model` with every batch norm folded into the convolution
    it follows (the same outputs to float precision, fewer operations per beat)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    fused = copy.deepcopy(model).eval()
    for block in fused.features:
        conv1, bn1, relu, conv2, bn2 = block.body
        block.body = nn.Sequential(
            fuse_conv_bn_eval(conv1, bn1), relu, fuse_conv_bn_eval(conv2, bn2)
        )
        block.shortcut = fuse_conv_bn_eval(*block.shortcut)
    return fused
