package io.pvecri.daemon.streaming;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.util.Log;
import io.pvecri.daemon.util.RequestLimits;
import io.pvecri.proto.cri.v1.AttachRequest;
import io.pvecri.proto.cri.v1.AttachResponse;
import io.pvecri.proto.cri.v1.ExecRequest;
import io.pvecri.proto.cri.v1.ExecResponse;
import io.pvecri.proto.cri.v1.PortForwardRequest;
import io.pvecri.proto.cri.v1.PortForwardResponse;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The streaming server behind the CRI Exec, Attach and PortForward calls, as kubelet's
 * {@code pkg/kubelet/cri/streaming} server: each call is validated and answered with a URL
 * {@code http://<address>:<port>/<exec|attach|portforward>/<token>} carrying a single-use token
 * that expires; the client (kubelet, kubectl through the API server, crictl) opens that URL with an
 * upgrade to SPDY/3.1 or WebSocket and the session runs on it. See docs/streaming.md.
 */
public final class StreamingService implements AutoCloseable {
    private static final Log LOG = Log.get(StreamingService.class);
    static final String HTTP_CODEC = "http";
    static final String AGGREGATOR = "http-aggregator";
    private static final Duration STREAM_CREATION_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_TOKENS = 1000; // kubelet's maxInFlight

    private final DaemonConfig.Streaming cfg;
    private final StreamingRuntime runtime;
    private final TokenCache tokens;
    private final Sessions sessions;
    private final Duration streamCreationTimeout;
    private EventLoopGroup group;
    private Channel server;
    private String baseUrl;

    public StreamingService(DaemonConfig.Streaming cfg, StreamingRuntime runtime, MeterRegistry registry) {
        this(cfg, runtime, registry, STREAM_CREATION_TIMEOUT);
    }

    StreamingService(DaemonConfig.Streaming cfg, StreamingRuntime runtime, MeterRegistry registry, Duration streamCreationTimeout) {
        this.cfg = cfg;
        this.runtime = runtime;
        this.tokens = new TokenCache(Duration.ofSeconds(cfg.tokenTtlSeconds()), MAX_TOKENS);
        this.sessions = new Sessions(registry, cfg.maxConcurrentStreams());
        this.streamCreationTimeout = streamCreationTimeout;
    }

    /** Binds the listening socket; the URLs carry the bound port. */
    public void start() throws IOException {
        SslContext ssl = null;
        if (cfg.tlsCertFile() != null) {
            ssl = SslContextBuilder.forServer(cfg.tlsCertFile().toFile(), cfg.tlsKeyFile().toFile()).build();
        }
        SslContext tls = ssl;
        group = new NioEventLoopGroup(2, new DefaultThreadFactory("pvecri-streaming", true));
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (tls != null) {
                            p.addLast("tls", tls.newHandler(ch.alloc()));
                        }
                        p.addLast("idle", new IdleStateHandler(0, 0, cfg.idleTimeoutSeconds(), TimeUnit.SECONDS));
                        p.addLast(HTTP_CODEC, new HttpServerCodec());
                        p.addLast(AGGREGATOR, new HttpObjectAggregator(8192));
                        p.addLast("router", new HttpRouter(StreamingService.this));
                    }
                });
        InetAddress bindAddress = InetAddress.getByName(cfg.address());
        try {
            server = b.bind(new InetSocketAddress(bindAddress, cfg.port())).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding the streaming server", e);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot listen on " + cfg.address() + ":" + cfg.port() + " for streaming (streaming.address/port): " + e.getMessage(), e);
        }
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        InetAddress advertised = bindAddress.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : bindAddress;
        String host = advertised.getHostAddress();
        baseUrl = (tls != null ? "https" : "http") + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        LOG.info("streaming.listening", "url", baseUrl, "token_ttl_s", cfg.tokenTtlSeconds(), "idle_timeout_s", cfg.idleTimeoutSeconds(),
                "max_sessions", cfg.maxConcurrentStreams());
    }

    /** {@code http://host:port} of the server (after {@link #start}). */
    public String baseUrl() {
        return baseUrl;
    }

    // ---- the CRI calls -------------------------------------------------------------------------

    public ExecResponse exec(ExecRequest req) {
        requireContainerId(req.getContainerId());
        if (req.getCmdCount() == 0) {
            throw CriException.invalid("exec command must not be empty");
        }
        RequestLimits.requireArgv("exec command", req.getCmdList());
        checkStreams(req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
        StreamingRuntime.Container c = runtime.runningContainer(req.getContainerId());
        ExecRequest resolved = req.toBuilder().setContainerId(c.id()).build();
        return ExecResponse.newBuilder().setUrl(url(Kind.EXEC, tokens.insert(Kind.EXEC, resolved))).build();
    }

    public AttachResponse attach(AttachRequest req) {
        requireContainerId(req.getContainerId());
        checkStreams(req.getTty(), req.getStdin(), req.getStdout(), req.getStderr());
        StreamingRuntime.Container c = runtime.runningContainer(req.getContainerId());
        if (!Files.exists(runtime.attachSocket(c))) {
            throw CriException.precondition("container " + c.id() + " has no attach socket: its init shim predates attach "
                    + "support or has exited; restart the container to attach to it");
        }
        AttachRequest resolved = req.toBuilder().setContainerId(c.id()).build();
        return AttachResponse.newBuilder().setUrl(url(Kind.ATTACH, tokens.insert(Kind.ATTACH, resolved))).build();
    }

    public PortForwardResponse portForward(PortForwardRequest req) {
        if (req.getPodSandboxId().isEmpty()) {
            throw CriException.invalid("missing required pod_sandbox_id");
        }
        for (int port : req.getPortList()) {
            if (port < 1 || port > 65535) {
                throw CriException.invalid("port " + port + " is out of range 1..65535");
            }
        }
        StreamingRuntime.Pod pod = runtime.readyPod(req.getPodSandboxId());
        PortForwardRequest resolved = req.toBuilder().setPodSandboxId(pod.id()).build();
        return PortForwardResponse.newBuilder().setUrl(url(Kind.PORTFORWARD, tokens.insert(Kind.PORTFORWARD, resolved))).build();
    }

    private static void requireContainerId(String id) {
        if (id.isEmpty()) {
            throw CriException.invalid("missing required container_id");
        }
    }

    private static void checkStreams(boolean tty, boolean stdin, boolean stdout, boolean stderr) {
        if (tty && stderr) {
            throw CriException.invalid("tty and stderr cannot both be true (a terminal has one output stream)");
        }
        if (!stdin && !stdout && !stderr) {
            throw CriException.invalid("one of stdin, stdout, or stderr must be set");
        }
    }

    private String url(Kind kind, String token) {
        if (baseUrl == null) {
            throw new CriException.Unavailable("the streaming server is not running", null);
        }
        return baseUrl + "/" + kind.path() + "/" + token;
    }

    // ---- sessions ------------------------------------------------------------------------------

    /** Starts the session of an exec or attach whose streams are ready (called on the event loop). */
    CommandIo.Input startSession(CommandIo io, Kind kind, Object request, Options opts, Sessions.Handle handle) {
        StreamingRuntime.Container c;
        String id = kind == Kind.EXEC ? ((ExecRequest) request).getContainerId() : ((AttachRequest) request).getContainerId();
        try {
            c = runtime.runningContainer(id);
        } catch (RuntimeException e) {
            io.finish(Status.internal((kind == Kind.EXEC ? "error executing command in container: " : "error attaching to container: ")
                    + e.getMessage()));
            handle.end("container", id, "end", "not_running");
            return NO_INPUT;
        }
        if (kind == Kind.EXEC) {
            ExecSession s = new ExecSession(io, opts, runtime, c, ((ExecRequest) request).getCmdList(), handle);
            s.start();
            return s;
        }
        AttachSession s = new AttachSession(io, opts, c, runtime.attachSocket(c), handle);
        s.start();
        return s;
    }

    private static final CommandIo.Input NO_INPUT = new CommandIo.Input() {
        @Override
        public void stdin(byte[] data) {
        }

        @Override
        public void stdinEnd() {
        }

        @Override
        public void resize(int cols, int rows) {
        }

        @Override
        public void disconnected() {
        }
    };

    TokenCache tokens() {
        return tokens;
    }

    Sessions sessions() {
        return sessions;
    }

    StreamingRuntime runtime() {
        return runtime;
    }

    Duration tokenTtl() {
        return Duration.ofSeconds(cfg.tokenTtlSeconds());
    }

    Duration streamCreationTimeout() {
        return streamCreationTimeout;
    }

    /** Sessions being served now. */
    public int activeSessions() {
        return sessions.active();
    }

    /** Stops listening and ends every session (their processes are killed). */
    @Override
    public void close() {
        if (server != null) {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        sessions.cancelAll();
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        LOG.info("streaming.stopped");
    }
}
