package io.pvecri.daemon.e2e.stream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.util.ReferenceCountUtil;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A SPDY/3.1 client as client-go's (moby/spdystream) is: upgrades an HTTP request with
 * {@code Upgrade: SPDY/3.1} and {@code X-Stream-Protocol-Version}, then opens streams with
 * SYN_STREAM and headers, waits for their SYN_REPLY, sends data and FIN. Frames are Netty's
 * {@code SpdyFrameCodec}; no flow control (as spdystream).
 */
public final class SpdyClient implements AutoCloseable {
    private final Channel ch;
    private final String protocol;
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final CompletableFuture<Void> goAway = new CompletableFuture<>();

    /** One client-initiated stream. */
    public final class Stream {
        final int id;
        final CompletableFuture<Boolean> reply = new CompletableFuture<>(); // true: accepted, false: reset
        public final Inbox in = new Inbox();
        private volatile boolean reset;

        Stream(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }

        public void write(byte[] b) {
            ch.writeAndFlush(new DefaultSpdyDataFrame(id, Unpooled.copiedBuffer(b)));
        }

        public void write(String s) {
            write(s.getBytes(StandardCharsets.UTF_8));
        }

        /** FIN: no more data from us. */
        public void close() {
            ch.writeAndFlush(new DefaultSpdyDataFrame(id).setLast(true));
        }

        public void reset() {
            ch.writeAndFlush(new DefaultSpdyRstStreamFrame(id, SpdyStreamStatus.CANCEL));
        }

        public boolean wasReset() {
            return reset;
        }

        /** Whether the server accepted the stream (false: it reset it). */
        public boolean accepted(Duration limit) {
            try {
                return reply.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                throw new AssertionError("no reply to stream " + id + " within " + limit, e);
            }
        }
    }

    private SpdyClient(Channel ch, String protocol) {
        this.ch = ch;
        this.protocol = protocol;
    }

    public String protocol() {
        return protocol;
    }

    /** POSTs to {@code url} with the upgrade; UpgradeFailed if the server answers otherwise. */
    public static SpdyClient connect(String url, List<String> protocols) throws Exception {
        URI u = URI.create(url);
        CompletableFuture<FullHttpResponse> response = new CompletableFuture<>();
        Channel ch = new Bootstrap().group(Loop.GROUP).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast("http", new HttpClientCodec());
                        c.pipeline().addLast("agg", new HttpObjectAggregator(1 << 20));
                        c.pipeline().addLast("upgrade", new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                response.complete(r.retain());
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                response.completeExceptionally(new java.io.IOException("connection closed before a response"));
                            }
                        });
                    }
                }).connect(u.getHost(), u.getPort()).sync().channel();
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, u.getRawPath());
        req.headers().set(HttpHeaderNames.HOST, u.getHost() + ":" + u.getPort())
                .set(HttpHeaderNames.CONNECTION, "Upgrade")
                .set(HttpHeaderNames.UPGRADE, "SPDY/3.1")
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        for (String p : protocols) {
            req.headers().add("X-Stream-Protocol-Version", p);
        }
        ch.writeAndFlush(req);
        FullHttpResponse r = response.get(10, TimeUnit.SECONDS);
        try {
            if (r.status().code() != 101) {
                ch.close();
                throw new UpgradeFailed(r.status().code(), r.content().toString(StandardCharsets.UTF_8));
            }
            SpdyClient client = new SpdyClient(ch, r.headers().get("X-Stream-Protocol-Version", ""));
            ch.eventLoop().submit(() -> {
                ch.pipeline().addLast("spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
                ch.pipeline().addLast("session", client.new Handler());
                ch.pipeline().remove("upgrade");
                ch.pipeline().remove("agg");
                ch.pipeline().remove("http");
            }).sync();
            return client;
        } finally {
            r.release();
        }
    }

    /**
     * SPDY tunnelled through a WebSocket, as client-go's {@code NewSPDYOverWebsocketDialer} does:
     * subprotocol {@code SPDY/3.1+<protocol>}, every binary message a piece of the SPDY byte stream.
     */
    public static SpdyClient connectTunnel(String url, String protocol) throws Exception {
        URI http = URI.create(url);
        URI ws = URI.create("ws://" + http.getHost() + ":" + http.getPort() + http.getRawPath());
        io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker hs =
                io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory.newHandshaker(ws,
                        io.netty.handler.codec.http.websocketx.WebSocketVersion.V13, "SPDY/3.1+" + protocol, false,
                        new io.netty.handler.codec.http.DefaultHttpHeaders(), 1 << 24);
        CompletableFuture<SpdyClient> ready = new CompletableFuture<>();
        new Bootstrap().group(Loop.GROUP).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                hs.handshake(ctx.channel());
                                ctx.fireChannelActive();
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof FullHttpResponse r) {
                                    try {
                                        hs.finishHandshake(ctx.channel(), r);
                                        SpdyClient client = new SpdyClient(ctx.channel(), hs.actualSubprotocol());
                                        ChannelPipelineHelper.tunnel(ctx, client.new Handler());
                                        ready.complete(client);
                                    } catch (RuntimeException e) {
                                        ready.completeExceptionally(new UpgradeFailed(r.status().code(),
                                                r.content().toString(StandardCharsets.UTF_8)));
                                        ctx.close();
                                    } finally {
                                        r.release();
                                    }
                                } else {
                                    ctx.fireChannelRead(msg);
                                }
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                ready.completeExceptionally(new java.io.IOException("closed during the handshake"));
                                ctx.fireChannelInactive();
                            }
                        });
                    }
                }).connect(http.getHost(), http.getPort()).sync();
        try {
            return ready.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    /** Pipeline surgery for the tunnel: WebSocket messages to bytes, then the SPDY codec. */
    private static final class ChannelPipelineHelper {
        static void tunnel(ChannelHandlerContext ctx, ChannelInboundHandlerAdapter session) {
            ctx.pipeline().addAfter(ctx.name(), "tunnel", new io.netty.handler.codec.MessageToMessageCodec<
                    io.netty.handler.codec.http.websocketx.WebSocketFrame, io.netty.buffer.ByteBuf>() {
                @Override
                protected void encode(ChannelHandlerContext c, io.netty.buffer.ByteBuf msg, List<Object> out) {
                    out.add(new io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame(msg.retain()));
                }

                @Override
                protected void decode(ChannelHandlerContext c, io.netty.handler.codec.http.websocketx.WebSocketFrame f, List<Object> out) {
                    if (f instanceof io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame
                            || f instanceof io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame) {
                        out.add(f.content().retain());
                    } else if (f instanceof io.netty.handler.codec.http.websocketx.CloseWebSocketFrame) {
                        c.close();
                    }
                }
            });
            ctx.pipeline().addAfter("tunnel", "spdy", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
            ctx.pipeline().addAfter("spdy", "session", session);
            ctx.pipeline().remove(ctx.name());
        }
    }

    /** Opens a stream with these headers (names lower-cased, as SPDY/3 requires). */
    public Stream open(Map<String, String> headers) {
        int id = nextId.getAndAdd(2);
        Stream s = new Stream(id);
        streams.put(id, s);
        DefaultSpdySynStreamFrame syn = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
        headers.forEach((k, v) -> syn.headers().set(k.toLowerCase(), v));
        ch.writeAndFlush(syn);
        return s;
    }

    public boolean awaitClosed(Duration limit) {
        try {
            closed.get(limit.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    public boolean goneAway() {
        return goAway.isDone();
    }

    public void ping(int id) {
        ch.writeAndFlush(new DefaultSpdyPingFrame(id));
    }

    /** Closes as spdystream does: GOAWAY, then the connection. */
    @Override
    public void close() {
        if (ch.isActive()) {
            ch.writeAndFlush(new DefaultSpdyGoAwayFrame(0));
        }
        ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Drops the TCP connection at once with a reset, like a killed client. */
    public void abort() {
        ch.config().setOption(ChannelOption.SO_LINGER, 0);
        ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                switch (msg) {
                    case SpdySynReplyFrame f -> {
                        Stream s = streams.get(f.streamId());
                        if (s != null) {
                            s.reply.complete(true);
                            if (f.isLast()) {
                                s.in.end();
                            }
                        }
                    }
                    case SpdyDataFrame f -> {
                        Stream s = streams.get(f.streamId());
                        if (s != null) {
                            byte[] b = new byte[f.content().readableBytes()];
                            f.content().readBytes(b);
                            if (b.length > 0) {
                                s.in.add(b);
                            }
                            if (f.isLast()) {
                                s.in.end();
                            }
                        }
                    }
                    case SpdyRstStreamFrame f -> {
                        Stream s = streams.get(f.streamId());
                        if (s != null) {
                            s.reset = true;
                            s.reply.complete(false);
                            s.in.end();
                        }
                    }
                    case SpdyPingFrame f -> {
                        if ((f.id() & 1) == 0) {
                            ctx.writeAndFlush(new DefaultSpdyPingFrame(f.id()));
                        }
                    }
                    case SpdyGoAwayFrame f -> goAway.complete(null);
                    default -> { }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            streams.values().forEach(s -> {
                s.reply.complete(false);
                s.in.end();
            });
            closed.complete(null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
