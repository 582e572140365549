package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One SPDY stream that the client opened (error, stdin, stdout, ..., or a port-forward data or
 * error stream). Inbound events are delivered on the connection's event loop to the listener;
 * what arrives before a listener is set is kept. Outbound writes may come from any thread.
 */
final class SpdyStream implements Sink {
    static final int MAX_DATA_FRAME = 32 * 1024;

    /** Inbound side; called on the event loop. */
    interface Listener {
        void data(ByteBuf data);

        void fin();

        void reset();
    }

    final int id;
    final Map<String, String> headers;
    private final SpdyConnection conn;
    private Listener listener;
    private final List<Object> early = new ArrayList<>(); // ByteBuf, FIN or RESET until a listener exists
    private volatile boolean localClosed;
    private volatile boolean remoteClosed;
    private static final Object FIN = new Object();
    private static final Object RESET = new Object();

    SpdyStream(SpdyConnection conn, int id, Map<String, String> headers) {
        this.conn = conn;
        this.id = id;
        this.headers = headers;
    }

    String header(String name) {
        return headers.get(name);
    }

    /** Sets the inbound listener (on the event loop) and replays what came before. */
    void listen(Listener l) {
        listener = l;
        for (Object o : early) {
            deliver(o);
        }
        early.clear();
    }

    void onData(ByteBuf data) {
        if (listener == null) {
            early.add(data);
        } else {
            deliver(data);
        }
    }

    void onFin() {
        remoteClosed = true;
        if (localClosed) {
            conn.forget(id);
        }
        if (listener == null) {
            early.add(FIN);
        } else {
            listener.fin();
        }
    }

    void onReset() {
        remoteClosed = true;
        localClosed = true;
        if (listener == null) {
            early.forEach(o -> {
                if (o instanceof ByteBuf b) {
                    b.release();
                }
            });
            early.clear();
            early.add(RESET);
        } else {
            listener.reset();
        }
    }

    private void deliver(Object o) {
        if (o == FIN) {
            listener.fin();
        } else if (o == RESET) {
            listener.reset();
        } else {
            listener.data((ByteBuf) o);
        }
    }

    /** Drops data kept for a listener that will never come. */
    void discard() {
        for (Object o : early) {
            if (o instanceof ByteBuf b) {
                b.release();
            }
        }
        early.clear();
    }

    boolean remoteClosed() {
        return remoteClosed;
    }

    /** Blocking write with backpressure, split into data frames. */
    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (localClosed) {
                throw new IOException("stream " + id + " is closed");
            }
            conn.conn.awaitWritable();
            int n = Math.min(len, MAX_DATA_FRAME);
            conn.conn.ch.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(b, off, n)));
            off += n;
            len -= n;
        }
    }

    /** Non-blocking write of a buffer (takes ownership); dropped when the stream is closed. */
    void writeNow(ByteBuf data) {
        if (localClosed) {
            data.release();
            return;
        }
        while (data.readableBytes() > MAX_DATA_FRAME) {
            conn.conn.ch.write(new DefaultSpdyDataFrame(id, data.readRetainedSlice(MAX_DATA_FRAME)));
        }
        conn.conn.ch.writeAndFlush(new DefaultSpdyDataFrame(id, data));
    }

    /** Half-closes our side (FIN); further writes fail. Idempotent. */
    @Override
    public void close() {
        if (localClosed) {
            return;
        }
        localClosed = true;
        conn.conn.ch.writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true));
        if (remoteClosed) {
            conn.forget(id);
        }
    }

    /** Closes both sides with RST_STREAM CANCEL. */
    void reset() {
        if (localClosed && remoteClosed) {
            return;
        }
        localClosed = true;
        remoteClosed = true;
        conn.conn.ch.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.CANCEL));
        conn.forget(id);
    }

    boolean writable() {
        return conn.conn.ch.isWritable();
    }

    @Override
    public String toString() {
        return "stream " + id + " " + headers;
    }
}
