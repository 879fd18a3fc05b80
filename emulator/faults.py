"""Random decisions (latency, failures, throttling, ids), all from one seeded generator."""

from __future__ import annotations

import random
import uuid

from emulator.config import Knobs, Range


class Faults:
    def __init__(self, knobs: Knobs, seed: int | None) -> None:
        self.knobs = knobs
        self._rng = random.Random(seed)

    def chance(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def seconds(self, span: Range) -> float:
        low, high = span
        return low if high <= low else self._rng.uniform(low, high)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, length: int = 8) -> str:
        return "".join(self._rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(length))

    def throttle(self, service: str, operation: str) -> bool:
        knobs = self.knobs
        if knobs.throttle_rate <= 0:
            return False
        targets = knobs.throttle_operations
        if targets and service not in targets and f"{service}:{operation}" not in targets:
            return False
        return self.chance(knobs.throttle_rate)
