package io.pvecri.daemon.e2e.stream;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;

/** The test clients' shared Netty event loop (daemon threads). */
final class Loop {
    static final EventLoopGroup GROUP = new NioEventLoopGroup(2, new DefaultThreadFactory("stream-client", true));

    private Loop() {}
}
