package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.ScheduledFuture;
import io.pvecri.daemon.util.Log;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * An exec or attach session over SPDY: waits for the client to open the streams the options call
 * for (error, then stdin, stdout, stderr and resize as asked; kubelet counts them the same way),
 * then starts the session. The error stream gets a JSON metav1.Status (v4, v5) or the failure text
 * (v1-v3) at the end.
 */
final class SpdyCommand implements SpdyConnection.App, CommandIo {
    private static final Log LOG = Log.get(SpdyCommand.class);

    private final Options opts;
    private final String protocol;
    private final Duration creationTimeout;
    private final Function<CommandIo, CommandIo.Input> starter;
    private final String name;
    private final Runnable onAbandoned;
    private SpdyConnection connection;
    private SpdyStream error;
    private SpdyStream stdin;
    private SpdyStream stdout;
    private SpdyStream stderr;
    private SpdyStream resize;
    private int received;
    private CommandIo.Input input;
    private ScheduledFuture<?> timer;
    private volatile boolean finished;

    SpdyCommand(Options opts, String protocol, Duration creationTimeout, String name,
                Function<CommandIo, CommandIo.Input> starter, Runnable onAbandoned) {
        this.onAbandoned = onAbandoned;
        this.opts = opts;
        this.protocol = protocol;
        this.creationTimeout = creationTimeout;
        this.name = name;
        this.starter = starter;
    }

    /** Binds the connection (before it reads any frame) and starts the stream-creation timer. */
    void bind(SpdyConnection c) {
        this.connection = c;
        timer = c.conn.ch.eventLoop().schedule(() -> {
            if (input == null) {
                LOG.warn("streaming.streams_timeout", "session", name, "received", received, "expected", expected(),
                        "hint", "the client did not open the streams it asked for");
                connection.close();
            }
        }, creationTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private int expected() {
        int n = 1;
        if (opts.stdin()) {
            n++;
        }
        if (opts.stdout()) {
            n++;
        }
        if (opts.stderr()) {
            n++;
        }
        if (opts.tty() && Protocols.spdyResize(protocol)) {
            n++;
        }
        return n;
    }

    @Override
    public boolean stream(SpdyStream s) {
        String type = s.header("streamtype");
        if (type == null || input != null) {
            LOG.debug("streaming.unexpected_stream", "session", name, "stream", s);
            return true;
        }
        switch (type) {
            case "error" -> error = s;
            case "stdin" -> stdin = s;
            case "stdout" -> stdout = s;
            case "stderr" -> stderr = s;
            case "resize" -> resize = s;
            default -> {
                LOG.debug("streaming.unexpected_stream", "session", name, "stream", s);
                return true;
            }
        }
        if (++received == expected()) {
            start();
        }
        return true;
    }

    private void start() {
        if (timer != null) {
            timer.cancel(false);
        }
        input = starter.apply(this);
        if (stdin != null) {
            stdin.listen(new SpdyStream.Listener() {
                @Override
                public void data(ByteBuf data) {
                    try {
                        input.stdin(WsConnection.bytes(data));
                    } finally {
                        data.release();
                    }
                }

                @Override
                public void fin() {
                    input.stdinEnd();
                }

                @Override
                public void reset() {
                    input.stdinEnd();
                }
            });
        }
        if (resize != null) {
            ResizeDecoder decoder = new ResizeDecoder(input::resize);
            resize.listen(ignoringEnd(data -> decoder.feed(WsConnection.bytes(data))));
        }
        for (SpdyStream s : new SpdyStream[] {error, stdout, stderr}) {
            if (s != null) {
                s.listen(ignoringEnd(data -> { }));
            }
        }
    }

    private static SpdyStream.Listener ignoringEnd(java.util.function.Consumer<ByteBuf> onData) {
        return new SpdyStream.Listener() {
            @Override
            public void data(ByteBuf data) {
                try {
                    onData.accept(data);
                } finally {
                    data.release();
                }
            }

            @Override
            public void fin() {
            }

            @Override
            public void reset() {
            }
        };
    }

    @Override
    public void closed() {
        if (timer != null) {
            timer.cancel(false);
        }
        if (input != null) {
            input.disconnected();
        } else {
            for (SpdyStream s : new SpdyStream[] {error, stdin, stdout, stderr, resize}) {
                if (s != null) {
                    s.discard();
                }
            }
            onAbandoned.run(); // the client left before opening its streams
        }
    }

    @Override
    public Sink stdout() {
        return opts.stdout() ? stdout : null;
    }

    @Override
    public Sink stderr() {
        return opts.stderr() ? stderr : null;
    }

    @Override
    public boolean resizable() {
        return resize != null;
    }

    @Override
    public Conn conn() {
        return connection.conn;
    }

    @Override
    public void finish(Status status) {
        if (finished) {
            return;
        }
        finished = true;
        byte[] payload = Protocols.jsonStatus(protocol) ? status.json() : status.text();
        if (error != null) {
            if (payload.length > 0) {
                error.writeNow(io.netty.buffer.Unpooled.wrappedBuffer(payload));
            }
            error.close();
        }
        if (stdout != null) {
            stdout.close();
        }
        if (stderr != null) {
            stderr.close();
        }
        connection.close();
    }

    @Override
    public void abort() {
        finished = true;
        connection.close();
    }
}
