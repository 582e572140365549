package io.pvecri.daemon.streaming;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What every upgraded client connection offers the sessions on it: blocking writes with
 * backpressure (a writer waits while Netty's outbound buffer is above its high-water mark, so a
 * slow client never makes the daemon buffer without bound), pausing reads while a consumer
 * (a process's stdin, a TCP target) is full, and a graceful close.
 */
final class Conn {
    private static final long CLOSE_LINGER_MS = 5000;

    final Channel ch;
    private final Object writable = new Object();
    private final Set<Object> readBlockers = ConcurrentHashMap.newKeySet();

    Conn(Channel ch) {
        this.ch = ch;
    }

    boolean active() {
        return ch.isActive();
    }

    /** Waits until the channel takes more output; IOException once the connection is gone. */
    void awaitWritable() throws IOException {
        while (!ch.isWritable()) {
            if (!ch.isActive()) {
                throw new IOException("the client connection is closed");
            }
            synchronized (writable) {
                try {
                    writable.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the client to read", e);
                }
            }
        }
        if (!ch.isActive()) {
            throw new IOException("the client connection is closed");
        }
    }

    private final java.util.List<Runnable> writableListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Runs {@code r} on the event loop whenever the channel becomes writable again. */
    void onWritable(Runnable r) {
        writableListeners.add(r);
    }

    /** Called by the handler (on the event loop) on writability changes and on close. */
    void wakeWriters() {
        synchronized (writable) {
            writable.notifyAll();
        }
        if (ch.isWritable()) {
            writableListeners.forEach(Runnable::run);
        }
    }

    /** Stops reading from the client until every blocker has called {@link #resumeReads}. */
    void pauseReads(Object blocker) {
        if (readBlockers.add(blocker)) {
            updateAutoRead();
        }
    }

    void resumeReads(Object blocker) {
        if (readBlockers.remove(blocker)) {
            updateAutoRead();
        }
    }

    private synchronized void updateAutoRead() {
        boolean read = readBlockers.isEmpty();
        if (ch.config().isAutoRead() != read) {
            ch.config().setAutoRead(read);
        }
    }

    /**
     * Flushes, half-closes our side and closes once the client has closed its side too (or after
     * a few seconds). Closing at once could reset the connection while the last output is still
     * on its way, if the client had sent something we did not read.
     */
    void closeGracefully() {
        ch.eventLoop().execute(() -> {
            if (!ch.isOpen()) {
                return;
            }
            ch.config().setAutoRead(true); // read (and drop) until the client closes
            readBlockers.clear();
            if (ch.pipeline().get(WsTunnel.class) != null) {
                ch.write(new io.netty.handler.codec.http.websocketx.CloseWebSocketFrame(1000, ""));
            }
            ch.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
                if (ch instanceof DuplexChannel d && ch.pipeline().get(io.netty.handler.ssl.SslHandler.class) == null) {
                    d.shutdownOutput();
                } else {
                    ch.close();
                }
            });
            ch.eventLoop().schedule(() -> {
                ch.close();
            }, CLOSE_LINGER_MS, TimeUnit.MILLISECONDS);
        });
    }
}
