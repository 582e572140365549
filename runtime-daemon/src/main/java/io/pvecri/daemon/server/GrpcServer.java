package io.pvecri.daemon.server;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC server on the CRI unix socket (mode 0660). RPC bodies run on virtual threads: they
 * block on LXC tools and files, which is what virtual threads are for.
 */
public final class GrpcServer implements AutoCloseable {
    private static final Log LOG = Log.get(GrpcServer.class);
    private static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final Path socket;
    private final Server server;
    private final EpollEventLoopGroup boss = new EpollEventLoopGroup(1);
    private final EpollEventLoopGroup workers = new EpollEventLoopGroup(2);
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    public GrpcServer(Path socket, List<BindableService> services, io.grpc.ServerInterceptor interceptor) throws IOException {
        this.socket = socket;
        prepareSocketPath(socket);
        NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(boss).workerEventLoopGroup(workers)
                .executor(executor)
                .maxInboundMessageSize(MAX_MESSAGE_BYTES);
        for (BindableService s : services) {
            b.addService(ServerInterceptors.intercept(s, interceptor));
        }
        server = b.build().start();
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
        LOG.info("grpc.listening", "socket", socket);
    }

    /** Creates parent dirs; removes a stale socket, but refuses one that a live daemon answers on. */
    static void prepareSocketPath(Path socket) throws IOException {
        Files.createDirectories(socket.getParent());
        if (!Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(socket)) {
            throw new IOException(socket + " exists and is not a socket; move it away");
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            throw new IOException("another process is serving " + socket + "; stop it or use --socket");
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another process")) {
                throw e;
            }
            Files.delete(socket);
            LOG.info("grpc.stale_socket_removed", "socket", socket);
        }
    }

    /** Stops taking new RPCs, lets in-flight ones finish (up to the grace period), then closes. */
    public void shutdown(long graceSeconds) {
        server.shutdown();
        try {
            if (!server.awaitTermination(graceSeconds, TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        executor.shutdown();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // A stale socket is cleaned at the next start.
        }
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        shutdown(30);
    }
}
