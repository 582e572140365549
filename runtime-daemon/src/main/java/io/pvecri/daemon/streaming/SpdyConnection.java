package io.pvecri.daemon.streaming;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.DefaultSpdyWindowUpdateFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySettingsFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyWindowUpdateFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.pvecri.daemon.util.Log;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The server side of a SPDY/3.1 session as Kubernetes uses it (the moby/spdystream dialect):
 * the client opens streams with SYN_STREAM (their {@code streamtype}, {@code port} and
 * {@code requestid} headers say what they are for), the server accepts each with SYN_REPLY,
 * data flows both ways, FIN half-closes, RST_STREAM aborts. Frames are encoded and decoded by
 * Netty's {@code SpdyFrameCodec}; this handler keeps the stream table. Flow control: spdystream
 * neither sends nor honours WINDOW_UPDATE, so the server ignores send windows; it returns
 * window credit only to peers that show they do flow control (SETTINGS or WINDOW_UPDATE seen).
 */
final class SpdyConnection extends ChannelInboundHandlerAdapter {
    private static final Log LOG = Log.get(SpdyConnection.class);

    /** What runs on the connection (remote command or port-forward). Called on the event loop. */
    interface App {
        /** A new stream, already accepted with SYN_REPLY; return false to reset it instead. */
        boolean stream(SpdyStream s);

        /** The connection is gone (client closed, idle timeout, error). */
        void closed();
    }

    final Conn conn;
    private final App app;
    private final String name;
    private final Map<Integer, SpdyStream> streams = new HashMap<>();
    private int lastClientStream;
    private boolean flowControlPeer;
    private boolean goneAway;

    SpdyConnection(Conn conn, App app, String name) {
        this.conn = conn;
        this.app = app;
        this.name = name;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case SpdySynStreamFrame f -> synStream(f);
                case SpdyDataFrame f -> data(f);
                case SpdyRstStreamFrame f -> {
                    SpdyStream s = streams.remove(f.streamId());
                    if (s != null) {
                        s.onReset();
                    }
                }
                case SpdyPingFrame f -> {
                    if ((f.id() & 1) == 1) { // a client ping: echo it
                        ctx.writeAndFlush(new DefaultSpdyPingFrame(f.id()));
                    }
                }
                case SpdyGoAwayFrame f -> goneAway = true;
                case SpdySettingsFrame f -> flowControlPeer = true;
                case SpdyWindowUpdateFrame f -> flowControlPeer = true;
                default -> { } // HEADERS and unknown frames carry nothing we use
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void synStream(SpdySynStreamFrame f) {
        int id = f.streamId();
        if (f.isInvalid() || (id & 1) == 0 || id <= lastClientStream || goneAway) {
            conn.ch.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.PROTOCOL_ERROR));
            return;
        }
        lastClientStream = id;
        Map<String, String> headers = new HashMap<>();
        f.headers().iteratorAsString().forEachRemaining(e -> headers.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue()));
        SpdyStream s = new SpdyStream(this, id, headers);
        streams.put(id, s);
        // Netty encodes an empty header set as no header block at all, which Go's SPDY framer
        // cannot parse; a reply carries the status header of SPDY's HTTP layering instead.
        DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(id);
        reply.headers().set(":status", "200");
        conn.ch.writeAndFlush(reply);
        if (f.isLast()) {
            s.onFin();
        }
        if (!app.stream(s)) {
            streams.remove(id);
            s.discard();
            s.reset();
        }
    }

    private void data(SpdyDataFrame f) {
        SpdyStream s = streams.get(f.streamId());
        int n = f.content().readableBytes();
        if (s == null) {
            conn.ch.writeAndFlush(new DefaultSpdyRstStreamFrame(f.streamId(), SpdyStreamStatus.INVALID_STREAM));
            return;
        }
        if (n > 0) {
            s.onData(f.content().retain());
            if (flowControlPeer) {
                conn.ch.write(new DefaultSpdyWindowUpdateFrame(f.streamId(), n));
                conn.ch.writeAndFlush(new DefaultSpdyWindowUpdateFrame(0, n));
            }
        }
        if (f.isLast()) {
            s.onFin();
        }
    }

    /** Drops a stream that is closed both ways from the table (any thread). */
    void forget(int id) {
        if (conn.ch.eventLoop().inEventLoop()) {
            streams.remove(id);
        } else {
            conn.ch.eventLoop().execute(() -> streams.remove(id));
        }
    }

    /** Ends the session: GOAWAY, then a graceful close of the connection. */
    void close() {
        conn.ch.eventLoop().execute(() -> {
            if (conn.ch.isActive()) {
                conn.ch.writeAndFlush(new DefaultSpdyGoAwayFrame(lastClientStream));
            }
            conn.closeGracefully();
        });
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        conn.wakeWriters();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        conn.wakeWriters();
        for (SpdyStream s : streams.values()) {
            s.onReset();
        }
        streams.clear();
        app.closed();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            LOG.info("streaming.idle_timeout", "session", name);
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("streaming.spdy_error", "session", name, "error", String.valueOf(cause));
        ctx.close();
    }
}
