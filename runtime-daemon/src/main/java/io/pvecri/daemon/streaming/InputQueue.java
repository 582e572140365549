package io.pvecri.daemon.streaming;

import java.util.ArrayDeque;

/**
 * What the client sent for a session's consumer thread: stdin chunks (byte[]) and control
 * items, in order. Bounded: above 1 MiB of unconsumed stdin the connection stops reading from the
 * client (TCP backpressure) until the consumer has caught up.
 */
final class InputQueue {
    /** Returned by {@link #take} once the client's stdin has ended and everything was taken. */
    static final Object END = new Object();
    private static final long HIGH = 1 << 20;
    private static final long LOW = 256 << 10;

    private final Conn conn;
    private final ArrayDeque<Object> items = new ArrayDeque<>();
    private long bytes;
    private boolean ended;
    private boolean closed;

    InputQueue(Conn conn) {
        this.conn = conn;
    }

    synchronized void put(Object item) {
        if (closed) {
            return;
        }
        items.add(item);
        if (item instanceof byte[] b) {
            bytes += b.length;
            if (bytes > HIGH) {
                conn.pauseReads(this);
            }
        }
        notifyAll();
    }

    /** No more stdin (control items may still come). */
    synchronized void end() {
        if (!ended) {
            ended = true;
            items.add(END);
            notifyAll();
        }
    }

    /** Drops everything and wakes the consumer; {@link #take} answers null from now on. */
    synchronized void close() {
        closed = true;
        items.clear();
        bytes = 0;
        conn.resumeReads(this);
        notifyAll();
    }

    synchronized boolean closed() {
        return closed;
    }

    /** The next item, or null after {@code timeoutMs} without one or once closed. */
    synchronized Object take(long timeoutMs) throws InterruptedException {
        if (items.isEmpty() && !closed) {
            wait(timeoutMs);
        }
        Object o = items.poll();
        if (o instanceof byte[] b) {
            bytes -= b.length;
            if (bytes < LOW) {
                conn.resumeReads(this);
            }
        }
        return o;
    }
}
