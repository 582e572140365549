package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The Kubernetes channel protocol over WebSocket ({@code channel.k8s.io} and its versions):
 * every message starts with one byte naming the channel (0 stdin, 1 stdout, 2 stderr, 3 error,
 * 4 resize for exec/attach; data 2n and error 2n+1 of the n-th port for port-forward). In the
 * {@code base64.} variants messages are text: the channel as an ASCII digit, then base64 data.
 * {@code v5.channel.k8s.io} adds the close signal: channel 255 followed by the channel the client
 * closes (its stdin). Frames are decoded by Netty's WebSocket codec (fragments aggregated).
 */
final class WsConnection extends ChannelInboundHandlerAdapter {
    private static final Log LOG = Log.get(WsConnection.class);
    static final int CLOSE_SIGNAL = 255;

    /** What runs on the connection; called on the event loop. */
    interface App {
        void data(int channel, ByteBuf data);

        /** v5: the client will send nothing more on {@code channel}. */
        void closeSignal(int channel);

        void closed();
    }

    final Conn conn;
    private final boolean base64;
    private final boolean v5;
    private final String name;
    private App app;
    private boolean closing;

    WsConnection(Conn conn, String subprotocol, String name) {
        this.conn = conn;
        this.base64 = subprotocol.contains("base64.");
        this.v5 = subprotocol.equals(Protocols.WS_V5);
        this.name = name;
    }

    void app(App app) {
        this.app = app;
    }

    /** An output channel towards the client. */
    Sink channel(int ch) {
        return new Sink() {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                do {
                    int n = Math.min(len, SpdyStream.MAX_DATA_FRAME);
                    conn.awaitWritable();
                    send(ch, b, off, n);
                    off += n;
                    len -= n;
                } while (len > 0);
            }

            @Override
            public void close() {
                // kubelet sends nothing when a server channel ends; the session's end closes them all
            }
        };
    }

    /** Sends one message on {@code ch} without waiting (for small control messages). */
    void send(int ch, byte[] b, int off, int len) {
        WebSocketFrame frame;
        if (base64) {
            String text = (char) ('0' + ch) + Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(b, off, off + len));
            frame = new TextWebSocketFrame(text);
        } else {
            ByteBuf buf = Unpooled.buffer(len + 1);
            buf.writeByte(ch);
            buf.writeBytes(b, off, len);
            frame = new BinaryWebSocketFrame(buf);
        }
        conn.ch.writeAndFlush(frame);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case BinaryWebSocketFrame f when !base64 -> message(f.content());
                case TextWebSocketFrame f when base64 -> {
                    String text = f.text();
                    if (text.isEmpty()) {
                        return;
                    }
                    byte[] data;
                    try {
                        data = Base64.getDecoder().decode(text.substring(1));
                    } catch (IllegalArgumentException e) {
                        LOG.debug("streaming.ws_bad_base64", "session", name);
                        return;
                    }
                    ByteBuf buf = Unpooled.buffer(data.length + 1);
                    buf.writeByte(text.charAt(0) - '0');
                    buf.writeBytes(data);
                    try {
                        message(buf);
                    } finally {
                        buf.release();
                    }
                }
                case PingWebSocketFrame f -> ctx.writeAndFlush(new PongWebSocketFrame(f.content().retain()));
                case CloseWebSocketFrame f -> {
                    if (!closing) {
                        closing = true;
                        ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
                    } else {
                        ctx.close();
                    }
                }
                default -> { } // pongs, and frames of the wrong kind for the protocol
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void message(ByteBuf content) {
        if (!content.isReadable() || app == null) {
            return;
        }
        int ch = content.readUnsignedByte();
        if (v5 && ch == CLOSE_SIGNAL) {
            if (content.readableBytes() == 1) {
                app.closeSignal(content.readUnsignedByte());
            }
            return;
        }
        app.data(ch, content.retainedSlice());
    }

    /** Ends the session with a normal close; the connection closes when the client answers. */
    void close() {
        conn.ch.eventLoop().execute(() -> {
            if (closing || !conn.ch.isActive()) {
                conn.closeGracefully();
                return;
            }
            closing = true;
            conn.ch.writeAndFlush(new CloseWebSocketFrame(1000, ""));
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
        if (app != null) {
            app.closed();
        }
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
        LOG.debug("streaming.ws_error", "session", name, "error", String.valueOf(cause));
        ctx.close();
    }

    static String text(ByteBuf b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    static byte[] bytes(ByteBuf b) {
        return ByteBufUtil.getBytes(b);
    }
}
