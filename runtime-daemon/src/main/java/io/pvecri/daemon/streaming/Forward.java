package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/**
 * One forwarded TCP connection: to 127.0.0.1:port (then [::1]:port) inside the pod's network
 * namespace, relayed to and from the client's data stream. Both sides run on the client
 * connection's event loop; each side stops reading while the other cannot take more. The
 * client's end of data half-closes the TCP connection; the end of the TCP connection ends the
 * client's data stream. Connect failures are reported on the error stream, in kubelet's words.
 */
final class Forward {
    private static final Log LOG = Log.get(Forward.class);
    private static final int CONNECT_TIMEOUT_MS = 5000;

    /** The client side of one forwarded connection (a data stream and an error stream). */
    interface Client {
        /** Sends data to the client (takes ownership), without blocking. */
        void data(ByteBuf b);

        boolean writable();

        /** The target closed: end the client's data stream. */
        void end();

        void error(String message);
    }

    private final Conn conn;
    private final EventLoop loop;
    private final StreamingRuntime.Pod pod;
    private final int port;
    private final Client client;
    private final Runnable onDone;
    private NioSocketChannel target;
    private final ArrayDeque<ByteBuf> early = new ArrayDeque<>();
    private long earlyBytes;
    private boolean clientEnded;
    private boolean done;

    Forward(Conn conn, StreamingRuntime.Pod pod, int port, Client client, Runnable onDone) {
        this.conn = conn;
        this.loop = conn.ch.eventLoop();
        this.pod = pod;
        this.port = port;
        this.client = client;
        this.onDone = onDone;
    }

    /** Connects (the namespace switch runs off the event loop). Call on the event loop. */
    void start() {
        attempt(StandardProtocolFamily.INET, "127.0.0.1", null);
    }

    private void attempt(StandardProtocolFamily family, String host, String v4Error) {
        Thread.ofVirtual().name("pvecri-forward-" + port).start(() -> {
            SocketChannel sc;
            try {
                sc = NetNs.socket(pod.netns(), family);
            } catch (IOException e) {
                loop.execute(() -> attemptFailed(family, v4Error, e));
                return;
            }
            loop.execute(() -> register(sc, family, new InetSocketAddress(host, port), v4Error));
        });
    }

    private void attemptFailed(StandardProtocolFamily family, String v4Error, Throwable cause) {
        if (done) {
            return;
        }
        if (family == StandardProtocolFamily.INET) {
            attempt(StandardProtocolFamily.INET6, "::1", describe(cause));
        } else {
            failed(v4Error, cause);
        }
    }

    private void register(SocketChannel sc, StandardProtocolFamily family, InetSocketAddress addr, String v4Error) {
        if (done) {
            closeQuietly(sc);
            return;
        }
        NioSocketChannel ch = new NioSocketChannel(sc);
        ch.config().setOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS);
        ch.config().setAutoRead(false);
        ch.pipeline().addLast(new TargetHandler());
        loop.register(ch).addListener((ChannelFutureListener) reg -> {
            if (!reg.isSuccess()) {
                ch.close();
                attemptFailed(family, v4Error, reg.cause());
                return;
            }
            ch.connect(addr).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    ch.close();
                    attemptFailed(family, v4Error, f.cause());
                    return;
                }
                if (done) {
                    ch.close();
                    return;
                }
                target = ch;
                while (!early.isEmpty()) {
                    ch.write(early.poll());
                }
                earlyBytes = 0;
                ch.flush();
                conn.resumeReads(this);
                if (clientEnded) {
                    shutdownTargetOutput();
                }
                ch.config().setAutoRead(true);
            });
        });
    }

    /** Half-closes towards the target once everything written before has been sent. */
    private void shutdownTargetOutput() {
        NioSocketChannel t = target;
        t.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (t.isActive()) {
                t.shutdownOutput();
            }
        });
    }

    private void failed(String v4Error, Throwable v6) {
        if (done) {
            return;
        }
        String msg = "error forwarding port " + port + " to pod " + pod.id() + ", uid : failed to connect to localhost:" + port
                + " inside the pod's network namespace, IPv4: " + (v4Error == null ? describe(v6) : v4Error)
                + ", IPv6: " + describe(v6);
        client.error(msg);
        finish();
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m;
    }

    private static void closeQuietly(SocketChannel sc) {
        try {
            sc.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** Data from the client (event loop; takes ownership). */
    void fromClient(ByteBuf data) {
        if (done || clientEnded) {
            data.release();
            return;
        }
        if (target == null) {
            early.add(data);
            earlyBytes += data.readableBytes();
            if (earlyBytes > (1 << 20)) {
                conn.pauseReads(this);
            }
            return;
        }
        target.writeAndFlush(data);
        if (!target.isWritable()) {
            conn.pauseReads(this);
        }
    }

    /** The client finished sending (FIN on the data stream): half-close towards the target. */
    void clientEnd() {
        if (clientEnded || done) {
            return;
        }
        clientEnded = true;
        if (target != null) {
            shutdownTargetOutput();
        }
    }

    /** The client reset the stream or went away. */
    void abort() {
        if (target != null) {
            target.close();
        }
        finish();
    }

    /** The client connection can take more: read from the target again. */
    void clientWritable() {
        if (target != null && !done) {
            target.config().setAutoRead(true);
        }
    }

    private void finish() {
        if (done) {
            return;
        }
        done = true;
        early.forEach(ReferenceCountUtil::release);
        early.clear();
        conn.resumeReads(this);
        onDone.run();
    }

    private final class TargetHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done) {
                ReferenceCountUtil.release(msg);
                return;
            }
            client.data((ByteBuf) msg);
            if (!client.writable()) {
                ctx.channel().config().setAutoRead(false); // resumed by clientWritable()
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                conn.resumeReads(Forward.this);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!done) {
                client.end();
                finish();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("streaming.forward_error", "port", port, "error", String.valueOf(cause));
            ctx.close();
        }
    }
}
