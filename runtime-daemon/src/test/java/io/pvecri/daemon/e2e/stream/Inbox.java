package io.pvecri.daemon.e2e.stream;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Predicate;

/** Bytes received on one stream or channel, with the end marked; waits are bounded. */
public final class Inbox {
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    private boolean ended;

    synchronized void add(byte[] b) {
        data.writeBytes(b);
        notifyAll();
    }

    synchronized void end() {
        ended = true;
        notifyAll();
    }

    public synchronized boolean ended() {
        return ended;
    }

    public synchronized byte[] bytes() {
        return data.toByteArray();
    }

    public synchronized int size() {
        return data.size();
    }

    public String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /** Waits until the text received so far satisfies {@code cond}; returns it. */
    public synchronized String await(Predicate<String> cond, Duration limit, String what) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String t = data.toString(StandardCharsets.UTF_8);
            if (cond.test(t)) {
                return t;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + limit + " waiting for " + what + "; received so far ("
                        + data.size() + " bytes, ended=" + ended + "): " + abbreviate(t));
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    /** Waits until at least {@code n} bytes have arrived. */
    public synchronized byte[] awaitBytes(int n, Duration limit, String what) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (data.size() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("timed out after " + limit + " waiting for " + n + " bytes of " + what + "; got " + data.size());
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
        return data.toByteArray();
    }

    /** Waits for the end of the stream; returns everything received. */
    public byte[] awaitEnd(Duration limit, String what) {
        synchronized (this) {
            long deadline = System.nanoTime() + limit.toNanos();
            while (!ended) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("timed out after " + limit + " waiting for the end of " + what + "; received "
                            + data.size() + " bytes: " + abbreviate(data.toString(StandardCharsets.UTF_8)));
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted", e);
                }
            }
            return data.toByteArray();
        }
    }

    static String abbreviate(String s) {
        return s.length() > 600 ? s.substring(0, 300) + "..." + s.substring(s.length() - 300) : s;
    }
}
