package io.pvecri.daemon.streaming;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.Log;
import io.pvecri.proto.cri.v1.AttachRequest;
import io.pvecri.proto.cri.v1.ExecRequest;
import io.pvecri.proto.cri.v1.PortForwardRequest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The HTTP side of the streaming server: {@code /exec/<token>}, {@code /attach/<token>} and
 * {@code /portforward/<token>} (GET or POST), each upgraded to SPDY/3.1 or WebSocket. A token is
 * consumed by the first request that presents it; an unknown, expired or reused one is a 404.
 * After the upgrade this handler replaces itself with the protocol's handlers.
 */
final class HttpRouter extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Log LOG = Log.get(HttpRouter.class);
    private static final Pattern CONNECTION_UPGRADE = Pattern.compile("(^|.*,\\s*)upgrade($|\\s*,.*)");
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    static final int MAX_WS_MESSAGE = 1 << 20;

    private final StreamingService service;
    private boolean upgraded;

    HttpRouter(StreamingService service) {
        this.service = service;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.executor().schedule(() -> {
            if (!upgraded) {
                ctx.close(); // no request in time
            }
        }, REQUEST_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!req.decoderResult().isSuccess()) {
            reply(ctx, HttpResponseStatus.BAD_REQUEST, "pve-cri streaming: malformed HTTP request", "bad_request");
            return;
        }
        String[] parts = new QueryStringDecoder(req.uri()).path().split("/");
        Kind kind = parts.length == 3 && parts[0].isEmpty() ? Kind.ofPath(parts[1]) : null;
        if (kind == null || parts[2].isEmpty()) {
            reply(ctx, HttpResponseStatus.NOT_FOUND, "pve-cri streaming: no such endpoint " + printable(req.uri())
                    + "; the streaming URLs are /exec/<token>, /attach/<token> and /portforward/<token>, as returned by the"
                    + " Exec, Attach and PortForward calls", "not_found");
            return;
        }
        if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.POST)) {
            reply(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "pve-cri streaming: use GET or POST", "bad_request");
            return;
        }
        Optional<TokenCache.Entry> entry = service.tokens().consume(parts[2]);
        if (entry.isEmpty() || entry.get().kind() != kind) {
            reply(ctx, HttpResponseStatus.NOT_FOUND, "pve-cri streaming: the token of this " + kind.path()
                    + " URL is unknown, expired or already used (tokens are single-use and valid for "
                    + service.tokenTtl().toSeconds() + "s); call " + rpc(kind) + " again for a new URL", "token");
            return;
        }
        String upgrade = req.headers().get(HttpHeaderNames.UPGRADE, "").toLowerCase(Locale.ROOT);
        boolean connectionUpgrade = CONNECTION_UPGRADE.matcher(req.headers().get(HttpHeaderNames.CONNECTION, "").toLowerCase(Locale.ROOT)).matches();
        if (connectionUpgrade && upgrade.equals("websocket")) {
            webSocket(ctx, req, kind, entry.get().request());
        } else if (connectionUpgrade && upgrade.contains(Protocols.SPDY_31.toLowerCase(Locale.ROOT))) {
            spdy(ctx, req, kind, entry.get().request());
        } else {
            reply(ctx, HttpResponseStatus.BAD_REQUEST, "pve-cri streaming: this URL must be opened with an upgrade to "
                    + "SPDY/3.1 or WebSocket (Connection: Upgrade); use kubectl, crictl or another client-go based client",
                    "bad_request");
        }
    }

    private static String rpc(Kind kind) {
        return switch (kind) {
            case EXEC -> "Exec";
            case ATTACH -> "Attach";
            case PORTFORWARD -> "PortForward";
        };
    }

    // ---- SPDY ------------------------------------------------------------------------------

    private void spdy(ChannelHandlerContext ctx, FullHttpRequest req, Kind kind, Object request) {
        List<String> client = Protocols.values(req.headers().getAll(Protocols.HEADER_PROTOCOL_VERSION));
        List<String> server = kind == Kind.PORTFORWARD ? Protocols.SPDY_PORT_FORWARD : Protocols.SPDY_REMOTE_COMMAND;
        if (client.isEmpty()) {
            reply(ctx, HttpResponseStatus.BAD_REQUEST, "unable to upgrade: " + Protocols.HEADER_PROTOCOL_VERSION
                    + " is required (this server accepts " + server + ")", "protocol");
            return;
        }
        String chosen = Protocols.negotiate(client, server);
        if (chosen == null) {
            FullHttpResponse r = response(HttpResponseStatus.FORBIDDEN, "unable to upgrade: unable to negotiate protocol: client supports "
                    + client + ", server accepts " + server);
            server.forEach(p -> r.headers().add(Protocols.HEADER_ACCEPTED_VERSIONS, p));
            send(ctx, r, "protocol");
            return;
        }
        StreamingRuntime.Pod pod = null;
        if (kind == Kind.PORTFORWARD) {
            try {
                pod = service.runtime().readyPod(((PortForwardRequest) request).getPodSandboxId());
            } catch (CriException e) {
                reply(ctx, HttpResponseStatus.NOT_FOUND, "pve-cri streaming: " + e.getMessage(), "bad_request");
                return;
            }
        }
        Sessions.Handle handle = service.sessions().begin(kind, "spdy/" + chosen, () -> ctx.channel().close(), target(kind, request));
        if (handle == null) {
            tooMany(ctx);
            return;
        }
        upgraded = true;
        DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                .set(HttpHeaderNames.UPGRADE, Protocols.SPDY_31)
                .set(Protocols.HEADER_PROTOCOL_VERSION, chosen);
        ctx.writeAndFlush(r); // encoded right away, before the codec goes

        Conn conn = new Conn(ctx.channel());
        SpdyConnection spdy;
        if (kind == Kind.PORTFORWARD) {
            PortForwardRequest pf = (PortForwardRequest) request;
            StreamingRuntime.Pod forwardPod = pod;
            SpdyPortForward app = new SpdyPortForward(pod, pf.getPortList(), service.streamCreationTimeout(),
                    () -> handle.end("pod", forwardPod.id(), "end", "closed"));
            spdy = new SpdyConnection(conn, app, handle.name);
            app.bind(spdy);
        } else {
            Options opts = options(request);
            SpdyCommand app = new SpdyCommand(opts, chosen, service.streamCreationTimeout(), handle.name,
                    io -> service.startSession(io, kind, request, opts, handle), () -> handle.end("end", "no_streams"));
            spdy = new SpdyConnection(conn, app, handle.name);
            app.bind(spdy);
        }
        ChannelPipeline p = ctx.pipeline();
        p.addBefore(ctx.name(), "spdy-codec", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
        p.addBefore(ctx.name(), "spdy-session", spdy);
        p.remove(StreamingService.AGGREGATOR);
        p.remove(this);
        p.remove(StreamingService.HTTP_CODEC); // bytes it had buffered go on to the SPDY codec
    }

    // ---- WebSocket -------------------------------------------------------------------------

    private void webSocket(ChannelHandlerContext ctx, FullHttpRequest req, Kind kind, Object request) {
        List<String> client = Protocols.values(req.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL));
        if (client.isEmpty()) {
            client = List.of("");
        }
        List<String> server = kind == Kind.PORTFORWARD ? Protocols.WS_PORT_FORWARD : Protocols.WS_REMOTE_COMMAND;
        String chosen = Protocols.negotiate(client, server);
        if (chosen == null) {
            reply(ctx, HttpResponseStatus.BAD_REQUEST, "requested protocol(s) are not supported: " + client + "; supports " + server,
                    "protocol");
            return;
        }
        boolean tunnel = chosen.equals(WsTunnel.PORT_FORWARD);
        StreamingRuntime.Pod pod = null;
        if (kind == Kind.PORTFORWARD) {
            PortForwardRequest pf = (PortForwardRequest) request;
            if (pf.getPortCount() == 0 && !tunnel) {
                reply(ctx, HttpResponseStatus.BAD_REQUEST, "pve-cri streaming: port-forward over WebSocket needs the ports in the "
                        + "PortForward request (or use SPDY)", "bad_request");
                return;
            }
            try {
                pod = service.runtime().readyPod(pf.getPodSandboxId());
            } catch (CriException e) {
                reply(ctx, HttpResponseStatus.NOT_FOUND, "pve-cri streaming: " + e.getMessage(), "bad_request");
                return;
            }
        }
        Sessions.Handle handle = service.sessions().begin(kind, "websocket/" + chosen, () -> ctx.channel().close(), target(kind, request));
        if (handle == null) {
            tooMany(ctx);
            return;
        }
        upgraded = true;
        String url = "ws://" + req.headers().get(HttpHeaderNames.HOST, "localhost") + req.uri();
        WebSocketServerHandshaker hs = new WebSocketServerHandshakerFactory(url, chosen.isEmpty() ? null : chosen, false, MAX_WS_MESSAGE)
                .newHandshaker(req);
        if (hs == null) {
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
            handle.end("end", "websocket_version");
            return;
        }
        ctx.channel().config().setAutoRead(false); // nothing is read until the session is wired
        ChannelFuture done = hs.handshake(ctx.channel(), req);
        ChannelPipeline p = ctx.pipeline();
        Conn conn = new Conn(ctx.channel());
        p.addAfter(ctx.name(), "ws-aggregator", new WebSocketFrameAggregator(MAX_WS_MESSAGE));
        StreamingRuntime.Pod forwardPod = pod;
        if (tunnel) { // SPDY port-forward inside the WebSocket
            PortForwardRequest pf = (PortForwardRequest) request;
            SpdyPortForward app = new SpdyPortForward(pod, pf.getPortList(), service.streamCreationTimeout(),
                    () -> handle.end("pod", forwardPod.id(), "end", "closed"));
            SpdyConnection spdy = new SpdyConnection(conn, app, handle.name);
            app.bind(spdy);
            p.addAfter("ws-aggregator", "ws-tunnel", new WsTunnel());
            p.addAfter("ws-tunnel", "spdy-codec", new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
            p.addAfter("spdy-codec", "spdy-session", spdy);
            p.remove(this);
            done.addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    f.channel().close();
                    return;
                }
                f.channel().config().setAutoRead(true);
            });
            return;
        }
        WsConnection ws = new WsConnection(conn, chosen, handle.name);
        p.addAfter("ws-aggregator", "ws-session", ws);
        p.remove(this);
        done.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                handle.end("end", "handshake_failed");
                f.channel().close();
                return;
            }
            if (kind == Kind.PORTFORWARD) {
                PortForwardRequest pf = (PortForwardRequest) request;
                new WsPortForward(ws, forwardPod, pf.getPortList(), () -> handle.end("pod", forwardPod.id(), "end", "closed"));
            } else {
                Options opts = options(request);
                new WsCommand(ws, opts, chosen, io -> service.startSession(io, kind, request, opts, handle));
            }
            f.channel().config().setAutoRead(true);
        });
    }

    // ---- helpers ---------------------------------------------------------------------------

    static Options options(Object request) {
        return switch (request) {
            case ExecRequest r -> new Options(r.getStdin(), r.getStdout(), r.getStderr(), r.getTty());
            case AttachRequest r -> new Options(r.getStdin(), r.getStdout(), r.getStderr(), r.getTty());
            default -> throw new IllegalArgumentException("not a remote command request: " + request);
        };
    }

    private static Object[] target(Kind kind, Object request) {
        return switch (request) {
            case ExecRequest r -> new Object[] {"container", r.getContainerId(), "tty", r.getTty(), "cmd",
                    printable(String.join(" ", r.getCmdList()))};
            case AttachRequest r -> new Object[] {"container", r.getContainerId(), "tty", r.getTty(), "stdin", r.getStdin()};
            case PortForwardRequest r -> new Object[] {"pod", r.getPodSandboxId(), "ports", r.getPortList().toString()};
            default -> new Object[] {"kind", kind.path()};
        };
    }

    private static String printable(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    private void tooMany(ChannelHandlerContext ctx) {
        reply(ctx, HttpResponseStatus.TOO_MANY_REQUESTS, "pve-cri streaming: " + service.sessions().max()
                + " sessions are already running (streaming.maxConcurrentStreams); try again later", null);
    }

    private void reply(ChannelHandlerContext ctx, HttpResponseStatus status, String message, String rejectReason) {
        send(ctx, response(status, message), rejectReason);
    }

    private static FullHttpResponse response(HttpResponseStatus status, String message) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().set("X-Content-Type-Options", "nosniff");
        HttpUtil.setContentLength(r, r.content().readableBytes());
        return r;
    }

    private void send(ChannelHandlerContext ctx, FullHttpResponse r, String rejectReason) {
        if (rejectReason != null) {
            service.sessions().rejected(rejectReason);
        }
        LOG.info("streaming.request_refused", "status", r.status().code(), "reason", rejectReason == null ? "limit" : rejectReason);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("streaming.http_error", "error", String.valueOf(cause));
        ctx.close();
    }
}
