"""A lock-free ring of multichannel audio between one producer thread and the audio thread.

The producer (the thread that decodes) pushes blocks; the audio callback pulls one hardware
buffer at a time. Each pushed block may carry a payload (the audio controls returned with it);
the payload comes out of :meth:`AudioRing.pull` in the call that plays the block's first sample,
so controls take effect when their audio is heard, not when it was computed.

Positions are absolute sample indices (Python ints, they never wrap): ``write_pos`` is only
changed by the producer, ``read_pos`` only by the consumer, so under the GIL no lock is needed.
The data is written before ``write_pos`` is published, so the consumer never reads a half-written
block. The producer may change samples already queued (:meth:`AudioRing.amend`: an immediate
change), but only from one hardware buffer past ``read_pos``, never the buffer being copied.

The two sides may be two processes (:mod:`latentcode.audio.player`): each has an
:class:`AudioRing` over the same shared samples and positions (``data`` and ``pos``), the same
invariants hold (an aligned 8-byte store is whole, and stores are seen in program order), and
the payloads travel as messages through ``send``, in order, before the position that
publishes their block; the consumer takes them in (``receive``) after reading that position,
so a block's payload is always there when the block is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np


class AudioRing:
    """Single-producer single-consumer ring of float32 audio, ``channels`` rows.

    >>> r = AudioRing(channels=2, capacity=8)
    >>> r.push(np.ones((2, 3), np.float32), payload="lpf 500")
    >>> outs = [np.zeros(4, np.float32), np.zeros(4, np.float32)]
    >>> r.pull(outs, 4)          # 3 samples were there: the 4th stays silent
    (3, ['lpf 500'])
    >>> outs[0].tolist(), r.read_pos, r.available()
    ([1.0, 1.0, 1.0, 0.0], 3, 0)
    """

    def __init__(self, channels: int, capacity: int, data: np.ndarray | None = None,
                 pos: np.ndarray | None = None,
                 send: Callable[[tuple], None] | None = None,
                 receive: Callable[[], list[tuple]] | None = None) -> None:
        self.channels = channels
        self.capacity = capacity
        self.data = np.zeros((channels, capacity), np.float32) if data is None else data
        # [write_pos, read_pos]: absolute positions, shared with the other side's twin when
        # the two sides are two processes
        self._pos = np.zeros(2, np.int64) if pos is None else pos
        # two processes: the producer's ``send`` carries payloads to the consumer's twin, whose
        # ``receive`` takes in what has come (None: both sides share this object)
        self._send = send
        self._receive = receive
        # (absolute position of a block's first sample, payload); deque append/popleft are
        # atomic, which is all the two threads share besides the positions.
        self._payloads: deque[tuple[int, Any]] = deque()
        # payloads the producer posts later for audio already queued (see amend): each is
        # due, like a block's, once the position before it has been played
        self._posted: deque[tuple[int, Any]] = deque()

    @property
    def write_pos(self) -> int:
        """The end of what is queued: only the producer moves it."""
        return int(self._pos[0])

    @write_pos.setter
    def write_pos(self, value: int) -> None:
        self._pos[0] = value

    @property
    def read_pos(self) -> int:
        """The end of what has been played: only the consumer moves it."""
        return int(self._pos[1])

    @read_pos.setter
    def read_pos(self, value: int) -> None:
        self._pos[1] = value

    def available(self) -> int:
        """Samples queued and not yet played."""
        return self.write_pos - self.read_pos

    def free(self) -> int:
        """Samples that can be pushed without overwriting unplayed audio."""
        return self.capacity - (self.write_pos - self.read_pos)

    def push(self, block: np.ndarray, payload: Any = None) -> None:
        """Producer: append ``block`` (channels, n); ``payload`` rides with its first sample.

        The caller makes sure ``free() >= n`` (an overfull ring would overwrite audio).

        >>> r = AudioRing(1, 4); r.push(np.zeros((1, 3), np.float32)); r.available()
        3
        """
        n = block.shape[1]
        if n > self.free():
            raise ValueError(f"ring overflow: {n} samples pushed, {self.free()} free")
        start = self.write_pos
        a = start % self.capacity
        first = min(n, self.capacity - a)
        self.data[:, a : a + first] = block[:, :first]
        if first < n:
            self.data[:, : n - first] = block[:, first:]
        if payload is not None:
            self._queue(("block", start, payload))
        self.write_pos = start + n  # publish last

    def pull(self, outs: list[np.ndarray], n: int) -> tuple[int, list[Any]]:
        """Consumer: copy up to ``n`` samples into the rows ``outs``; zero what is missing.

        Returns how many samples were there and the payloads of the blocks that began in
        them.
        """
        got = min(n, self.write_pos - self.read_pos)
        a = self.read_pos % self.capacity
        first = min(got, self.capacity - a)
        rows = self.data
        for ch, out in enumerate(outs):
            out[:first] = rows[ch, a : a + first]
            if first < got:
                out[first:got] = rows[ch, : got - first]
            if got < n:
                out[got:n] = 0.0
        self.read_pos += got
        return got, self._due()

    def skip(self, upto: int) -> tuple[int, list[Any]]:
        """Consumer: drop queued audio up to position ``upto`` (or all that is there).

        Returns how many samples were dropped and the payloads passed over, which still count:
        a filter setting made during the dropped audio should hold afterwards.

        >>> r = AudioRing(1, 8); r.push(np.ones((1, 5), np.float32), payload=1); r.skip(99)
        (5, [1])
        """
        target = min(upto, self.write_pos)
        dropped = max(0, target - self.read_pos)
        self.read_pos += dropped
        return dropped, self._due()

    def reset(self) -> None:
        """Forget everything queued (only while neither side is running)."""
        self.read_pos = self.write_pos
        self._queue(("reset",))

    def amend(self, start: int, delta: np.ndarray, safe_from: int, first_row: int = 0) -> int:
        """Producer: add ``delta`` (rows, n) into the queued samples from ``start``, rows
        ``first_row`` on, but only from ``safe_from`` on (a position the consumer cannot be
        reading yet); returns the first position it changed (later than ``start``: the rest
        came too late to be heard).

        The consumer reads without a lock, so the caller passes ``safe_from`` at least one
        hardware buffer past :attr:`read_pos`: the buffer being copied is never written.

        >>> r = AudioRing(1, 8); r.push(np.ones((1, 6), np.float32)); r.read_pos = 1
        >>> r.amend(0, np.full((1, 6), 2.0, np.float32), safe_from=2)
        2
        >>> r.data[0, :6].tolist()
        [1.0, 1.0, 3.0, 3.0, 3.0, 3.0]
        """
        n = delta.shape[1]
        lo = max(start, safe_from, self.read_pos)
        hi = min(start + n, self.write_pos)
        rows = self.data[first_row : first_row + delta.shape[0]]
        if hi > lo:  # (what is queued is never more than the ring holds)
            a, k = lo % self.capacity, lo - start
            first = min(hi - lo, self.capacity - a)
            rows[:, a : a + first] += delta[:, k : k + first]
            rows[:, : hi - lo - first] += delta[:, k + first : k + hi - lo]
        return lo

    def post(self, at: int, payload: Any) -> None:
        """Producer: a payload for audio already queued, due in the pull that plays sample
        ``at`` (as a block's payload is with its first sample), after the blocks' payloads
        and after those posted before it, whatever their sample.

        >>> r = AudioRing(1, 8); r.push(np.zeros((1, 4), np.float32), payload="a")
        >>> r.post(3, "late"); r.post(2, "b"); outs = [np.zeros(2, np.float32)]
        >>> r.pull(outs, 2)[1], r.pull(outs, 2)[1]
        (['a'], ['late', 'b'])
        """
        self._queue(("post", at, payload))

    def edit(self, since: int, change: Callable[[Any], None]) -> None:
        """Producer: ``change(payload)`` for each block's payload queued from position
        ``since`` on, in place (an immediate change takes a track's controls out of them).
        ``change`` is a picklable object when the consumer is another process.

        >>> r = AudioRing(1, 8); r.push(np.zeros((1, 2), np.float32), payload=[1])
        >>> r.push(np.zeros((1, 2), np.float32), payload=[2]); r.edit(2, list.clear)
        >>> r.queued_payloads(0)
        [[1], []]
        """
        self._queue(("edit", since, change))

    def resend(self) -> None:
        """Producer: send the payloads of the blocks still queued again (to a consumer that
        started afresh: the audio process after a restart)."""
        if self._send is not None:
            for at, payload in list(self._payloads):
                if at >= self.read_pos:
                    self._send(("block", at, payload))

    def queued_payloads(self, since: int) -> list[Any]:
        """Producer: the payloads of the blocks queued from position ``since`` on (not yet
        due: the consumer only takes those before :attr:`read_pos`)."""
        return [payload for at, payload in list(self._payloads) if at >= since]

    def _queue(self, message: tuple) -> None:
        """Producer: keep a payload message here, and send it to the consumer's twin."""
        self._take(message)
        if self._send is not None:
            self._send(message)
            q = self._payloads  # nobody takes them out here: forget the played ones
            while q and q[0][0] < self.read_pos:
                q.popleft()
            self._posted.clear()

    def _take(self, message: tuple) -> None:
        """Apply one payload message (in order, on either side)."""
        kind = message[0]
        if kind == "block":
            self._payloads.append((message[1], message[2]))
        elif kind == "post":
            self._posted.append((message[1], message[2]))
        elif kind == "edit":
            since, change = message[1], message[2]
            for at, payload in list(self._payloads):
                if at >= since:
                    change(payload)
        elif kind == "reset":
            self._payloads.clear()
            self._posted.clear()

    def _due(self) -> list[Any]:
        if self._receive is not None:  # after the positions were read: see the module
            for message in self._receive():
                self._take(message)
        due = []
        q = self._payloads  # in the order of the blocks
        while q and q[0][0] < self.read_pos:
            due.append(q.popleft()[1])
        # posted ones are few and may come out of order (a knob's retouch after a pad's): any
        # that is due, in the order posted, so that a later one wins
        if self._posted:
            for item in list(self._posted):  # (a copy: the producer may append meanwhile)
                if item[0] < self.read_pos:
                    due.append(item[1])
                    self._posted.remove(item)
        return due
