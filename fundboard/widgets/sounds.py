"""The alert sounds, synthesised (no downloaded audio): `python -m fundboard.widgets.sounds`.

Writes small 8-bit mono WAV files into static/fundboard/sounds/. Kept so the files can be
regenerated or tuned; the committed WAVs are what pages load.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

RATE = 16000
OUT = Path(__file__).resolve().parents[2] / "static" / "fundboard" / "sounds"


def _tone(notes: list[tuple[float, float, float]], length: float) -> bytes:
    """Sum of decaying sine notes (frequency Hz, start s, decay s) as unsigned 8-bit PCM."""
    frames = bytearray()
    for i in range(int(RATE * length)):
        t = i / RATE
        sample = 0.0
        for freq, start, decay in notes:
            if t >= start:
                age = t - start
                envelope = math.exp(-age / decay) * min(1.0, age * 200)
                sample += 0.32 * envelope * math.sin(2 * math.pi * freq * age)
        frames.append(max(0, min(255, int(128 + 127 * sample))))
    return bytes(frames)


def write(name: str, pcm: bytes) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return path


def main() -> None:
    # A bright major arpeggio (C6 E6 G6 C7) and a two-note coin.
    write(
        "chime.wav",
        _tone([(1047, 0, 0.25), (1319, 0.09, 0.25), (1568, 0.18, 0.3), (2093, 0.27, 0.4)], 0.9),
    )
    write("coin.wav", _tone([(988, 0, 0.06), (1319, 0.07, 0.3)], 0.5))


if __name__ == "__main__":
    main()
