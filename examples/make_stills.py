"""Draw the example storyboard's stills (a harbour at dawn, the character Mara).

They are committed as small JPEGs so the example works from a fresh checkout;
this script is how they were made, and remakes them byte-for-byte:

    python examples/make_stills.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent / "assets"


def harbour(width: int = 960, height: int = 540) -> Image.Image:
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, height)[:, None]
    horizon = 0.58
    sky = np.stack([255 * (0.98 - 0.35 * y), 255 * (0.72 - 0.25 * y), 255 * (0.55 + 0.25 * y)], axis=-1)
    img = np.broadcast_to(sky, (height, width, 3)).copy()
    # sun low over the water
    yy, xx = np.mgrid[0:height, 0:width]
    d = np.hypot(xx - width * 0.68, yy - height * (horizon - 0.06))
    img += (np.clip(1.0 - d / (height * 0.09), 0, 1) ** 0.5)[..., None] * np.array([60, 40, 0])
    img += (np.exp(-d / (height * 0.35)))[..., None] * np.array([40, 22, 0])
    # sea with ripples and the sun's glitter path
    sea = yy > height * horizon
    depth = (yy - height * horizon) / (height * (1 - horizon))
    ripple = 0.5 + 0.5 * np.sin(xx * 0.09 + np.sin(yy * 0.31) * 3 + yy * 0.6)
    glitter = np.exp(-(((xx - width * 0.68) / (width * (0.03 + 0.12 * depth))) ** 2)) * ripple
    water = np.stack([40 + 50 * (1 - depth), 70 + 40 * (1 - depth), 110 + 30 * (1 - depth)], axis=-1)
    water += glitter[..., None] * np.array([200, 150, 60])
    img[sea] = water[sea]
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pic)
    # distant hills and a pier with posts
    hills = (
        [(0, height * horizon)]
        + [
            (x, height * horizon - 18 - 22 * np.sin(x / 90.0) - rng.uniform(0, 6))
            for x in range(0, width + 40, 40)
        ]
        + [(width, height * horizon)]
    )
    draw.polygon(hills, fill=(70, 60, 80))
    deck = height * 0.72
    draw.rectangle([0, deck, width * 0.42, deck + 10], fill=(45, 32, 28))
    for x in range(10, int(width * 0.42), 38):
        draw.rectangle([x, deck, x + 7, height], fill=(38, 27, 24))
    # fishing boats
    for bx, by, s in ((width * 0.55, height * 0.66, 1.0), (width * 0.8, height * 0.63, 0.7)):
        hull = [(bx - 60 * s, by), (bx + 60 * s, by), (bx + 45 * s, by + 18 * s), (bx - 45 * s, by + 18 * s)]
        draw.polygon(hull, fill=(150, 40, 35))
        draw.line([(bx, by), (bx, by - 70 * s)], fill=(40, 30, 30), width=max(2, int(4 * s)))
        draw.polygon([(bx + 3, by - 66 * s), (bx + 3, by - 8), (bx + 44 * s, by - 8)], fill=(235, 225, 205))
    return pic.filter(ImageFilter.GaussianBlur(0.6))


def mara(width: int = 480, height: int = 640) -> Image.Image:
    y = np.linspace(0, 1, height)[:, None, None]
    bg = np.array([70, 90, 110]) * (1 - y) + np.array([30, 40, 55]) * y
    pic = Image.fromarray(np.broadcast_to(bg, (height, width, 3)).astype(np.uint8))
    draw = ImageDraw.Draw(pic)
    cx = width / 2
    # yellow raincoat: shoulders and body, hood behind the head
    draw.polygon(
        [
            (cx - 150, height),
            (cx - 130, 380),
            (cx - 60, 330),
            (cx + 60, 330),
            (cx + 130, 380),
            (cx + 150, height),
        ],
        fill=(235, 190, 40),
    )
    draw.ellipse([cx - 95, 150, cx + 95, 360], fill=(215, 170, 30))
    draw.line([(cx, 345), (cx, height)], fill=(170, 130, 20), width=5)
    # face, short dark hair
    draw.ellipse([cx - 62, 190, cx + 62, 330], fill=(225, 180, 150))
    draw.chord([cx - 66, 180, cx + 66, 290], 180, 360, fill=(40, 28, 24))
    draw.ellipse([cx - 30, 250, cx - 16, 262], fill=(40, 40, 50))
    draw.ellipse([cx + 16, 250, cx + 30, 262], fill=(40, 40, 50))
    draw.arc([cx - 22, 280, cx + 22, 306], 20, 160, fill=(150, 70, 70), width=3)
    return pic.filter(ImageFilter.GaussianBlur(0.5))


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    harbour().save(HERE / "harbour.jpg", quality=88, optimize=True)
    mara().save(HERE / "mara.jpg", quality=88, optimize=True)


if __name__ == "__main__":
    main()
