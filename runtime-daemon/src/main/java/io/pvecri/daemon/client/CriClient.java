package io.pvecri.daemon.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.pvecri.proto.admin.v1.AdminServiceGrpc;
import io.pvecri.proto.cri.v1.ImageServiceGrpc;
import io.pvecri.proto.cri.v1.RuntimeServiceGrpc;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The project's own CRI client: blocking stubs for RuntimeService, ImageService and pve-cri's
 * AdminService over the daemon's unix socket. Used by the CLI and by the end-to-end tests.
 */
public final class CriClient implements AutoCloseable {
    /** Largest message accepted from the daemon; kubelet uses 16 MiB too. */
    private static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    /**
     * gRPC asks Netty for SO_KEEPALIVE, which unix sockets do not have; Netty warns on every
     * connection. Held strongly so the level sticks (java.util.logging keeps loggers weakly).
     */
    private static final java.util.logging.Logger BOOTSTRAP_LOG = quietBootstrap();

    static java.util.logging.Logger quietBootstrap() {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger("io.netty.bootstrap");
        l.setLevel(java.util.logging.Level.SEVERE);
        return l;
    }

    private final EpollEventLoopGroup group;
    private final ManagedChannel channel;

    private CriClient(EpollEventLoopGroup group, ManagedChannel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Opens a channel to the daemon listening on {@code socket}; connection happens lazily. */
    public static CriClient connect(Path socket) {
        EpollEventLoopGroup group = new EpollEventLoopGroup(1);
        ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class)
                .usePlaintext()
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .build();
        return new CriClient(group, channel);
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return RuntimeServiceGrpc.newBlockingStub(channel);
    }

    public ImageServiceGrpc.ImageServiceBlockingStub images() {
        return ImageServiceGrpc.newBlockingStub(channel);
    }

    public AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return AdminServiceGrpc.newBlockingStub(channel);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
