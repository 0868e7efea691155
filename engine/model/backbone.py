"""A small convolutional backbone over line art.

Regions are matched from what surrounds them: the shape of their outline,
the lines and regions next to them, where they sit in the drawing. A CNN
sees all of that at once, and being fully convolutional it runs on any frame
size, so it trains on small frames and runs on HD ones.

Input channels (see `engine.features.frame_channels`):

    ink       line darkness in [0, 1]
    distance  distance to the nearest line, scaled and clipped to [0, 1]
    trace     colour-trace line mask in {0, 1}

The encoder halves the resolution five times (1/2 .. 1/32); a light
FPN-style top-down path adds the coarse levels, which see whole characters,
back onto the 1/4 grid, which is fine enough for small regions:

    image [B x 3 x H x W]
      stem    1/2   (16 ch)
      c2      1/4   (32 ch)  ──lateral──┐
      c3      1/8   (64 ch)  ──lateral──┤  upsample and add, coarse to fine
      c4      1/16  (96 ch)  ──lateral──┤
      c5      1/32  (128 ch) ──lateral──┘
      head    1/4   (dim ch, 1x1)

On CUDA the convolutions run under autocast (bfloat16 where supported, else
float16) and the output is cast back to float32; on the CPU everything is
float32.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from engine.model.conf import merge_conf


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.ReLU(inplace=True)
    )


class Backbone(nn.Module):
    """Line art -> dense features on the 1/4 grid."""

    default_conf: ClassVar[dict[str, Any]] = {
        "in_channels": 3,  # ink, distance to lines, colour-trace mask
        "widths": [16, 32, 64, 96, 128],  # channels at 1/2, 1/4, 1/8, 1/16, 1/32
        "dim": 64,  # output feature channels
        "mixed_precision": True,  # autocast on CUDA (never on the CPU)
    }

    stride = 4  # output grid step in input pixels

    def __init__(self, conf: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conf = conf = merge_conf(self.default_conf, conf, "Backbone")
        w = list(conf["widths"])
        if len(w) != 5:
            raise ValueError("Backbone widths: five values, for 1/2 .. 1/32")
        self.stem = _conv(conf["in_channels"], w[0], stride=2)
        self.c2 = nn.Sequential(_conv(w[0], w[1], stride=2), _conv(w[1], w[1]))
        self.c3 = nn.Sequential(_conv(w[1], w[2], stride=2), _conv(w[2], w[2]))
        self.c4 = nn.Sequential(_conv(w[2], w[3], stride=2), _conv(w[3], w[3]))
        self.c5 = nn.Sequential(_conv(w[3], w[4], stride=2), _conv(w[4], w[4]))
        dim = conf["dim"]
        self.lateral = nn.ModuleList([nn.Conv2d(c, dim, 1) for c in w[1:]])
        self.head = nn.Sequential(
            nn.Conv2d(dim, dim, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(dim, dim, 1),
        )

    def forward(self, data: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """image: [B x C x H x W] float32 -> features: [B x dim x H/4 x W/4].

        The output grid has ceil(H/4) x ceil(W/4) cells; cell (i, j) covers
        input pixels [4i, 4i+4) x [4j, 4j+4).
        """
        image = data["image"]
        use_amp = bool(self.conf["mixed_precision"]) and image.is_cuda
        amp_dtype = (
            torch.bfloat16
            if use_amp and torch.cuda.is_bf16_supported(including_emulation=False)
            else torch.float16
        )
        with torch.autocast(image.device.type, dtype=amp_dtype, enabled=use_amp):
            x2 = self.c2(self.stem(image))
            x3 = self.c3(x2)
            x4 = self.c4(x3)
            x5 = self.c5(x4)
            levels = [x2, x3, x4, x5]
            top = self.lateral[3](x5)
            for i in (2, 1, 0):
                lateral = self.lateral[i](levels[i])
                top = lateral + F.interpolate(
                    top, size=lateral.shape[-2:], mode="bilinear", align_corners=False
                )
            features = self.head(top)
        return {"features": features.float()}
