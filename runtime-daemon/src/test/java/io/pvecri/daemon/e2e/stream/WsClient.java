package io.pvecri.daemon.e2e.stream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.ReferenceCountUtil;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A client of the Kubernetes channel protocol over WebSocket, with Netty's WebSocket client
 * codec: every message is one channel byte plus data (or, for {@code base64.} subprotocols, an
 * ASCII digit plus base64 text). Received data is kept per channel, in order.
 */
public final class WsClient implements AutoCloseable {
    private final Channel ch;
    private final String protocol;
    private final boolean base64;
    private final Map<Integer, Inbox> channels = new ConcurrentHashMap<>();
    /** Every message in arrival order: channel, then data (to check the initial messages). */
    public final List<Map.Entry<Integer, byte[]>> messages = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Integer> closeStatus = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private WsClient(Channel ch, String protocol) {
        this.ch = ch;
        this.protocol = protocol == null ? "" : protocol;
        this.base64 = this.protocol.contains("base64.");
    }

    public String protocol() {
        return protocol;
    }

    /** Connects with the subprotocols given (comma-separated order of preference; "" for none). */
    public static WsClient connect(String url, String subprotocols) throws Exception {
        URI http = URI.create(url);
        URI ws = URI.create("ws://" + http.getHost() + ":" + http.getPort() + http.getRawPath());
        WebSocketClientHandshaker hs = WebSocketClientHandshakerFactory.newHandshaker(ws, WebSocketVersion.V13,
                subprotocols.isEmpty() ? null : subprotocols, false, new DefaultHttpHeaders(), 1 << 24);
        CompletableFuture<WsClient> ready = new CompletableFuture<>();
        new Bootstrap().group(Loop.GROUP).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20),
                                new ChannelInboundHandlerAdapter() {
                                    WsClient client;

                                    @Override
                                    public void channelActive(ChannelHandlerContext ctx) {
                                        hs.handshake(ctx.channel()); // on the event loop, before any response
                                        ctx.fireChannelActive();
                                    }

                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        if (client == null && msg instanceof FullHttpResponse r) {
                                            try {
                                                hs.finishHandshake(ctx.channel(), r);
                                                client = new WsClient(ctx.channel(), hs.actualSubprotocol());
                                                ctx.pipeline().addBefore(ctx.name(), "wsagg", new WebSocketFrameAggregator(1 << 24));
                                                ready.complete(client);
                                            } catch (WebSocketHandshakeException e) {
                                                ready.completeExceptionally(new UpgradeFailed(r.status().code(),
                                                        r.content().toString(StandardCharsets.UTF_8)));
                                                ctx.close();
                                            } finally {
                                                r.release();
                                            }
                                            return;
                                        }
                                        if (client != null) {
                                            client.frame(msg);
                                        } else {
                                            ReferenceCountUtil.release(msg);
                                        }
                                    }

                                    @Override
                                    public void channelInactive(ChannelHandlerContext ctx) {
                                        ready.completeExceptionally(new java.io.IOException("closed during the handshake"));
                                        if (client != null) {
                                            client.channels.values().forEach(Inbox::end);
                                            client.closed.complete(null);
                                            client.closeStatus.complete(-1);
                                        }
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        ready.completeExceptionally(cause);
                                        ctx.close();
                                    }
                                });
                    }
                }).connect(http.getHost(), http.getPort()).sync();
        try {
            return ready.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        }
    }

    private void frame(Object msg) {
        try {
            switch (msg) {
                case BinaryWebSocketFrame f -> {
                    ByteBuf c = f.content();
                    if (!c.isReadable()) {
                        return;
                    }
                    int channel = c.readUnsignedByte();
                    byte[] b = new byte[c.readableBytes()];
                    c.readBytes(b);
                    deliver(channel, b);
                }
                case TextWebSocketFrame f -> {
                    String t = f.text();
                    if (!t.isEmpty()) {
                        deliver(t.charAt(0) - '0', Base64.getDecoder().decode(t.substring(1)));
                    }
                }
                case CloseWebSocketFrame f -> {
                    closeStatus.complete(f.statusCode());
                    ch.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(x -> ch.close());
                }
                default -> { }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void deliver(int channel, byte[] b) {
        messages.add(Map.entry(channel, b));
        channel(channel).add(b);
    }

    public Inbox channel(int n) {
        return channels.computeIfAbsent(n, k -> new Inbox());
    }

    public void send(int channel, byte[] data) {
        if (base64) {
            ch.writeAndFlush(new TextWebSocketFrame((char) ('0' + channel) + Base64.getEncoder().encodeToString(data)));
        } else {
            ByteBuf b = Unpooled.buffer(data.length + 1);
            b.writeByte(channel);
            b.writeBytes(data);
            ch.writeAndFlush(new BinaryWebSocketFrame(b));
        }
    }

    public void send(int channel, String s) {
        send(channel, s.getBytes(StandardCharsets.UTF_8));
    }

    /** The close signal of v5.channel.k8s.io: the client sends nothing more on {@code channel}. */
    public void closeChannel(int channel) {
        ByteBuf b = Unpooled.buffer(2);
        b.writeByte(255);
        b.writeByte(channel);
        ch.writeAndFlush(new BinaryWebSocketFrame(b));
    }

    /** Waits for the server's close frame; its status code, or -1 if the connection just dropped. */
    public int awaitClose(Duration limit) {
        try {
            return closeStatus.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError("the server did not close the WebSocket within " + limit, e);
        }
    }

    public boolean isClosed() {
        return closed.isDone();
    }

    @Override
    public void close() {
        if (ch.isActive()) {
            ch.writeAndFlush(new CloseWebSocketFrame(1000, ""));
        }
        ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Drops the TCP connection at once with a reset, like a killed client. */
    public void abort() {
        ch.config().setOption(ChannelOption.SO_LINGER, 0);
        ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
