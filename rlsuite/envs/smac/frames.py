"""Top-down RGB frames of SMAC battles (:func:`render_frame`); episodes are recorded by
:mod:`rlsuite.envs.smac.render`.

A frame shows the 32×32 map (walkable ground light, the rest dark), each living unit as a disc of its
radius (allies blue, enemies red; air units translucent with a solid rim) with a type letter, a health
bar and, for shielded units, a shield bar above it; a line from each unit that fired during the last
env step to its target (ally shots cyan, enemy shots orange, heals green); dead units as a faint grey
cross; a header with the map, step, game loop and living units per team. Pure numpy + Pillow with
Pillow's built-in bitmap font, so frames are deterministic.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from rlsuite.envs.smac import core
from rlsuite.envs.smac import units as ut

# Colours (RGB).
WALKABLE_COLOR = (212, 206, 188)
UNWALKABLE_COLOR = (52, 54, 62)
ALLY_COLOR = (45, 110, 225)
ENEMY_COLOR = (215, 60, 50)
ALLY_RIM = (20, 50, 125)
ENEMY_RIM = (115, 25, 20)
ALLY_SHOT_COLOR = (0, 190, 255)
ENEMY_SHOT_COLOR = (255, 130, 0)
HEAL_COLOR = (30, 190, 60)
HEALTH_COLOR = (40, 200, 70)
SHIELD_COLOR = (90, 200, 255)
BAR_BACK_COLOR = (25, 25, 25)
DEAD_COLOR = (150, 150, 150)
HEADER_COLOR = (28, 30, 36)
TEXT_COLOR = (235, 235, 235)
LETTER_COLOR = (255, 255, 255)
HEADER_HEIGHT = 16
AIR_ALPHA = 120  # fill opacity of air units

UNIT_LETTERS = {
    "marine": "m",
    "marauder": "M",
    "medivac": "V",
    "stalker": "S",
    "zealot": "Z",
    "colossus": "C",
    "hydralisk": "H",
    "zergling": "g",
    "baneling": "b",
    "spine_crawler": "Sp",
}


@cache
def _font():
    from PIL import ImageFont

    # The bitmap font (6×11 px glyphs) is the same in every Pillow build: deterministic frames.
    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader is not None else ImageFont.load_default()


def _letter(type_index: int) -> str:
    name = ut.UNIT_TYPES[type_index].name
    return UNIT_LETTERS.get(name, name[:1].upper())


def terrain_image(grid: np.ndarray, scale: int) -> np.ndarray:
    """``uint8 [H, W, 3]`` of the pathing grid (``[x, y]``, y up): row 0 is the top of the map."""
    walk = np.asarray(grid, dtype=bool).T[::-1]  # [row, col], row 0 = largest y
    walkable, unwalkable = np.array(WALKABLE_COLOR, np.uint8), np.array(UNWALKABLE_COLOR, np.uint8)
    cells = np.where(walk[:, :, None], walkable, unwalkable)
    return np.repeat(np.repeat(cells, scale, axis=0), scale, axis=1)


def fired_recently(
    fs: np.ndarray, ist: np.ndarray, table: np.ndarray, b: int, u: int, loops_per_step: int
) -> bool:
    """Whether unit ``u`` fired its weapon during the last env step (its cooldown was reset in it)."""
    cd = table[ist[b, u, core.IS_TYPE], ut.F_COOLDOWN]
    cooldown = fs[b, u, core.FS_COOLDOWN]
    return cd > 0.0 and cooldown > 0.0 and cooldown >= cd - loops_per_step - 1e-9


def _dist(fs, b, u, v) -> float:
    return math.hypot(fs[b, v, core.FS_X] - fs[b, u, core.FS_X], fs[b, v, core.FS_Y] - fs[b, u, core.FS_Y])


def _gap(fs, ist, table, b, u, v) -> float:
    ru, rv = table[ist[b, u, core.IS_TYPE], ut.F_RADIUS], table[ist[b, v, core.IS_TYPE], ut.F_RADIUS]
    return _dist(fs, b, u, v) - ru - rv


def _enemy_heal_target(fs, ist, table, b, u, n_agents, n_units) -> int:
    """The ally an enemy medivac heals (the simulator's AI: most injured biological unit within 6)."""
    best, best_missing = -1, 0.0
    for v in range(n_agents, n_units):
        if v == u or ist[b, v, core.IS_ALIVE] == 0:
            continue
        tv = ist[b, v, core.IS_TYPE]
        if table[tv, ut.F_WEAPON] == ut.WEAPON_HEAL or not (int(table[tv, ut.F_ATTR]) & ut.BIOLOGICAL):
            continue
        missing = table[tv, ut.F_HEALTH] - fs[b, v, core.FS_HEALTH]
        if missing > best_missing and _dist(fs, b, u, v) <= 6.0:
            best, best_missing = v, missing
    return best


def battle_events(battles, b: int) -> list[tuple[int, int, str]]:
    """``(unit, target, kind)`` for the attacks and heals of the last step; kind ``"attack"``/``"heal"``."""
    fs, ist, table = battles.fs, battles.ist, battles.table
    n_agents, n_units = battles.layout.n_agents, ist.shape[1]
    step_mul = int(getattr(getattr(battles, "options", None), "step_mul", core.LOOPS_PER_STEP))
    events = []
    for u in range(n_units):
        if ist[b, u, core.IS_ALIVE] == 0:
            continue
        tu = ist[b, u, core.IS_TYPE]
        if table[tu, ut.F_WEAPON] == ut.WEAPON_HEAL:
            if u < n_agents:
                v = ist[b, u, core.IS_TARGET] if ist[b, u, core.IS_ORDER] == core.O_HEAL else -1
            else:
                v = _enemy_heal_target(fs, ist, table, b, u, n_agents, n_units)
            if (
                0 <= v < n_units
                and ist[b, v, core.IS_ALIVE] == 1
                and fs[b, u, core.FS_ENERGY] > 0.0
                and _gap(fs, ist, table, b, u, v) <= table[tu, ut.F_RANGE]
            ):
                events.append((u, int(v), "heal"))
            continue
        if not fired_recently(fs, ist, table, b, u, step_mul):
            continue
        # Allies only fire under an attack order, whose target is fixed for the whole step; the enemy
        # AI's current target is the one it fired at unless it switched after shooting in this step.
        v = ist[b, u, core.IS_TARGET] if u < n_agents else ist[b, u, core.IS_AI_TARGET]
        if 0 <= v < n_units and (v < n_agents) != (u < n_agents):
            events.append((u, int(v), "attack"))
    return events


def render_frame(battles, b: int = 0, scale: int = 16, caption: str | None = None) -> np.ndarray:
    """A top-down ``uint8 [H, W, 3]`` image of battle ``b`` (``H = 32·scale + 16``, ``W = 32·scale``).

    ``battles`` is a :class:`~rlsuite.envs.smac.battle.BattleCore`; ``caption`` is appended to the header.
    Layers, bottom to top: terrain, dead units, ground units, air units, the last step's shots and heals,
    health and shield bars, the header.
    """
    scale = int(scale)
    if scale < 2:
        raise ValueError(f"scale must be an int >= 2 (pixels per map unit), got {scale!r}")
    frame = _Frame(battles, b, scale)
    frame.draw_dead_units()
    frame.draw_living_units()
    frame.draw_events()
    frame.draw_bars()
    frame.draw_header(caption)
    return np.asarray(frame.image, dtype=np.uint8).copy()


class _Frame:
    """One frame being drawn: battle ``b``'s arrays, the Pillow image and the pixel geometry."""

    def __init__(self, battles, b: int, scale: int) -> None:
        from PIL import Image, ImageDraw

        self.battles, self.b, self.scale = battles, b, scale
        self.fs, self.ist, self.table = battles.fs, battles.ist, battles.table
        self.n_agents, self.n_units = battles.layout.n_agents, battles.ist.shape[1]
        grid = np.asarray(battles.grid)
        self.map_h = grid.shape[1]
        self.width = grid.shape[0] * scale
        canvas = np.empty((self.map_h * scale + HEADER_HEIGHT, self.width, 3), dtype=np.uint8)
        canvas[:HEADER_HEIGHT] = HEADER_COLOR
        canvas[HEADER_HEIGHT:] = terrain_image(grid, scale)
        self.image = Image.fromarray(canvas)
        self.draw = ImageDraw.Draw(self.image)
        self.font = _font()
        self.alive = [u for u in range(self.n_units) if self.ist[b, u, core.IS_ALIVE] == 1]

    def _type(self, u: int) -> int:
        return self.ist[self.b, u, core.IS_TYPE]

    def pixel(self, u: int) -> tuple[float, float]:
        fs, b = self.fs, self.b
        return fs[b, u, core.FS_X] * self.scale, HEADER_HEIGHT + (
            self.map_h - fs[b, u, core.FS_Y]
        ) * self.scale

    def radius(self, u: int) -> float:
        return float(self.table[self._type(u), ut.F_RADIUS]) * self.scale

    def is_air(self, u: int) -> bool:
        return self.table[self._type(u), ut.F_AIR] > 0

    def draw_dead_units(self) -> None:
        """A faint cross where each dead unit fell."""
        for u in range(self.n_units):
            if self.ist[self.b, u, core.IS_ALIVE] == 0:
                x, y = self.pixel(u)
                s = max(2.0, 0.6 * self.radius(u))
                self.draw.line([(x - s, y - s), (x + s, y + s)], fill=DEAD_COLOR, width=1)
                self.draw.line([(x - s, y + s), (x + s, y - s)], fill=DEAD_COLOR, width=1)

    def draw_letter(self, u: int, colour=LETTER_COLOR) -> None:
        if self.radius(u) < 5.0:
            return
        text = _letter(int(self._type(u)))
        x, y = self.pixel(u)
        left, top, right, bottom = self.draw.textbbox((0, 0), text, font=self.font)
        position = (round(x - (right - left) / 2 - left), round(y - (bottom - top) / 2 - top))
        self.draw.text(position, text, fill=colour, font=self.font)

    def draw_living_units(self) -> None:
        """Ground units as discs, then air units translucent on top (their letter in the team colour)."""
        from PIL import Image, ImageDraw

        for u in self.alive:
            if self.is_air(u):
                continue
            x, y = self.pixel(u)
            r = self.radius(u)
            fill, rim = (ALLY_COLOR, ALLY_RIM) if u < self.n_agents else (ENEMY_COLOR, ENEMY_RIM)
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=rim, width=1)
            self.draw_letter(u)
        air = [u for u in self.alive if self.is_air(u)]
        if not air:
            return
        overlay = Image.new("RGBA", self.image.size, (0, 0, 0, 0))
        odraw = ImageDraw.Draw(overlay)
        for u in air:
            x, y = self.pixel(u)
            r = self.radius(u)
            colour = ALLY_COLOR if u < self.n_agents else ENEMY_COLOR
            odraw.ellipse(
                [x - r, y - r, x + r, y + r], fill=(*colour, AIR_ALPHA), outline=(*colour, 255), width=2
            )
        self.image = Image.alpha_composite(self.image.convert("RGBA"), overlay).convert("RGB")
        self.draw = ImageDraw.Draw(self.image)
        for u in air:  # white is unreadable on the translucent fill
            self.draw_letter(u, ALLY_RIM if u < self.n_agents else ENEMY_RIM)

    def draw_events(self) -> None:
        """Attacks and heals of the last step, with a dot on the target."""
        line_w = max(1, self.scale // 8)
        for u, v, kind in battle_events(self.battles, self.b):
            if kind == "heal":
                colour = HEAL_COLOR
            else:
                colour = ALLY_SHOT_COLOR if u < self.n_agents else ENEMY_SHOT_COLOR
            weapon = self.table[self._type(u), ut.F_WEAPON]
            width_px = line_w + 1 if weapon == ut.WEAPON_BEAM else line_w
            (x0, y0), (x1, y1) = self.pixel(u), self.pixel(v)
            self.draw.line([(x0, y0), (x1, y1)], fill=colour, width=width_px)
            d = max(1.5, line_w + 0.5)
            self.draw.ellipse([x1 - d, y1 - d, x1 + d, y1 + d], fill=colour)

    def draw_bars(self) -> None:
        """Health (and shield) bars above each living unit."""
        fs, table, b = self.fs, self.table, self.b
        bar_h = max(2, self.scale // 5)
        for u in self.alive:
            x, y = self.pixel(u)
            r = self.radius(u)
            t = self._type(u)
            bar_w = max(2.0 * r, 10.0)
            left = x - bar_w / 2
            top = y - r - 2 - bar_h
            bars = [(fs[b, u, core.FS_HEALTH] / table[t, ut.F_HEALTH], HEALTH_COLOR)]
            if table[t, ut.F_SHIELD] > 0:
                bars.append((fs[b, u, core.FS_SHIELD] / table[t, ut.F_SHIELD], SHIELD_COLOR))
            for k, (frac, colour) in enumerate(bars):
                frac = min(max(float(frac), 0.0), 1.0)
                y0 = top - k * (bar_h + 1)
                self.draw.rectangle([left, y0, left + bar_w - 1, y0 + bar_h - 1], fill=BAR_BACK_COLOR)
                if frac > 0:
                    right = left + max(bar_w * frac, 1.0) - 1
                    self.draw.rectangle([left, y0, right, y0 + bar_h - 1], fill=colour)

    def draw_header(self, caption: str | None) -> None:
        """Map, step, game loop and living units per team (drawn last: bars cannot cover it)."""
        battles, b, n_agents = self.battles, self.b, self.n_agents
        self.draw.rectangle([0, 0, self.width - 1, HEADER_HEIGHT - 1], fill=HEADER_COLOR)
        n_ally = sum(1 for u in self.alive if u < n_agents)
        n_enemy = len(self.alive) - n_ally
        steps = int(np.asarray(getattr(battles, "steps", np.zeros(b + 1)))[b])
        loops = int(np.asarray(battles.loops)[b])
        limit = getattr(battles, "episode_limit", None)
        text = (
            f"{battles.spec.name}  step {steps}{f'/{limit}' if limit else ''}  loop {loops}  "
            f"allies {n_ally}/{n_agents}  enemies {n_enemy}/{self.n_units - n_agents}"
        )
        if caption:
            text += f"  {caption}"
        self.draw.text((4, 3), text, fill=TEXT_COLOR, font=self.font)
