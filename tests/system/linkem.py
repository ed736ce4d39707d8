#!/usr/bin/env python3
"""A lossy, slow link between two TUN devices (tests/system/portal-netem.sh).

    linkem.py TUN_A TUN_B DELAY_MS JITTER_MS LOSS_PCT SEED STATS_FILE

Makes the layer-3 TUN devices TUN_A and TUN_B (no packet information
header), prints "ready" once both exist (the caller then moves each into
its network namespace and gives it an address), and from then on carries
every IP packet one side sends to the other: each is dropped with
probability LOSS_PCT %, else delivered DELAY_MS +- JITTER_MS (uniform)
later, in the order it was sent (a link does not reorder).  That is
what `tc qdisc add ... netem delay D J loss L` does on each veth end, for
kernels built without sch_netem.  A device set down (ip link set down,
the test's flaps) takes no packets: writes to it fail and are counted as
lost.  SIGTERM ends it; it writes "a2b_sent a2b_lost b2a_sent b2a_lost
down_lost" to STATS_FILE.
"""
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    a_name, b_name = sys.argv[1], sys.argv[2]
    delay, jitter = float(sys.argv[3]) / 1000, float(sys.argv[4]) / 1000
    loss = float(sys.argv[5]) / 100
    rng = random.Random(int(sys.argv[6]))
    stats_file = sys.argv[7]
    a, b = tun(a_name), tun(b_name)
    peer = {a: b, b: a}
    last = {a: 0.0, b: 0.0}       # the latest due time per direction (no reordering)
    sent = {a: 0, b: 0}
    lost = {a: 0, b: 0}
    down_lost = [0]
    queue, seq = [], 0
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while running[0]:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, dst, pkt = heapq.heappop(queue)
            try:
                os.write(dst, pkt)
            except OSError:
                down_lost[0] += 1
        timeout = max(0.0, queue[0][0] - now) if queue else 0.5
        try:
            ready, _, _ = select.select([a, b], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for src in ready:
            for _ in range(64):
                try:
                    pkt = os.read(src, 65536)
                except (BlockingIOError, OSError):
                    break
                if rng.random() < loss:
                    lost[src] += 1
                    continue
                due = max(now + delay + rng.uniform(-jitter, jitter), last[src])
                last[src] = due
                sent[src] += 1
                seq += 1
                heapq.heappush(queue, (due, seq, peer[src], pkt))
    with open(stats_file, "w") as f:
        f.write("%d %d %d %d %d\n" % (sent[a], lost[a], sent[b], lost[b], down_lost[0]))


if __name__ == "__main__":
    main()
