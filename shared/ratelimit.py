"""A token bucket, the one rate limit both ends use: the server on each client's messages,
PINGs, joins and costly commands (server/net.py), the client on a server's bad frames and
PINGs (client/net.py). Time is whatever clock the caller passes (the event loop's)."""

from __future__ import annotations


class Bucket:
    """`rate` tokens a second up to `burst`, full at the start; take() spends one."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
