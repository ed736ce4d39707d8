#!/usr/bin/env python3
"""Helpers of the portal tests (portal-curl.sh): small TCP servers and
clients that check what a portal must carry.  Exit status 0 means the
check passed; a message on stdout says what was seen."""
import os, socket, struct, sys, threading, time


def serve(port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def read_all(c):
    d = bytearray()
    while True:
        x = c.recv(65536)
        if not x:
            return bytes(d)
        d += x


def reverse(c):
    """Read to EOF, answer with the bytes reversed, close."""
    c.sendall(read_all(c)[::-1])
    c.close()


def reset_after_read(c):
    """Read 5 bytes, then close with RST."""
    c.recv(5)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def flood(c):
    """Send as fast as the peer takes (up to 200 MiB)."""
    block = os.urandom(65536)
    try:
        for _ in range(3200):
            c.sendall(block)
    except OSError:
        pass
    c.close()


def echo(c):
    """Send back what arrives, until EOF."""
    while True:
        x = c.recv(65536)
        if not x:
            break
        c.sendall(x)
    c.close()


def watch_reset(path):
    def h(c):
        try:
            read_all(c)
            open(path, "w").write("eof")
        except ConnectionResetError:
            open(path, "w").write("reset")
    return h


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "reverse":
        serve(port, reverse)
    elif mode == "reset":
        serve(port, reset_after_read)
    elif mode == "flood":
        serve(port, flood)
    elif mode == "echo":
        serve(port, echo)
    elif mode == "session":
        # one connection, two echo round trips: the second after the file
        # argv[3] appeared (at most 30 s); it must still be the same stream
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(10)
        for i, word in enumerate((b"first", b"second")):
            if i == 1:
                print("waiting", flush=True)
                for _ in range(300):
                    if os.path.exists(sys.argv[3]):
                        break
                    time.sleep(0.1)
            c.sendall(word)
            got = b""
            try:
                while len(got) < len(word):
                    x = c.recv(64)
                    if not x:
                        break
                    got += x
            except OSError as e:
                print("%s: %s" % (word.decode(), e))
                sys.exit(1)
            if got != word:
                print("%s: got %r" % (word.decode(), got))
                sys.exit(1)
        print("both echoed on one stream")
    elif mode == "watch":
        serve(port, watch_reset(sys.argv[3]))
    elif mode == "halfclose":
        c = socket.create_connection(("127.0.0.1", port))
        data = os.urandom(3 * 1024 * 1024 + 17)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        got = read_all(c)
        print("got %d bytes, want %d" % (len(got), len(data)))
        sys.exit(0 if got == data[::-1] else 1)
    elif mode == "expect-reset":
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"hello")
        c.settimeout(5)
        try:
            got = read_all(c)
            print("no reset: EOF after %d bytes" % len(got))
            sys.exit(1)
        except ConnectionResetError:
            print("reset")
    elif mode == "send-reset":
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(b"some bytes")
        time.sleep(0.5)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif mode == "hold":
        # connect, read 1 byte, then stall (not reading) for argv[3] seconds;
        # then expect the connection to end (EOF or reset) within argv[4] s.
        c = socket.create_connection(("127.0.0.1", port))
        c.recv(1)
        print("stalled", flush=True)
        time.sleep(float(sys.argv[3]))
        c.settimeout(float(sys.argv[4]))
        try:
            while c.recv(1 << 20):
                pass
            print("ended")
        except ConnectionResetError:
            print("ended (reset)")
        except socket.timeout:
            print("still open")
            sys.exit(1)


main()
