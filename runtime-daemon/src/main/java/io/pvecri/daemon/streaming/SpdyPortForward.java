package io.pvecri.daemon.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.ScheduledFuture;
import io.pvecri.daemon.util.Log;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Port-forward over SPDY ({@code portforward.k8s.io}): for every local connection the client opens
 * an error stream and a data stream carrying the same {@code port} and {@code requestID} headers
 * (older clients send no requestID: it is derived from the stream ids, as kubelet does). Each
 * complete pair becomes one {@link Forward}. The session lasts until the client closes it.
 */
final class SpdyPortForward implements SpdyConnection.App {
    private static final Log LOG = Log.get(SpdyPortForward.class);

    private final StreamingRuntime.Pod pod;
    private final List<Integer> allowedPorts;
    private final Duration creationTimeout;
    private final Runnable onClosed;
    private SpdyConnection connection;
    private final Map<String, Pair> pairs = new HashMap<>();
    private final Map<String, Forward> forwards = new HashMap<>();

    private final class Pair {
        final String requestId;
        SpdyStream data;
        SpdyStream error;
        ScheduledFuture<?> timer;

        Pair(String requestId) {
            this.requestId = requestId;
        }
    }

    SpdyPortForward(StreamingRuntime.Pod pod, List<Integer> allowedPorts, Duration creationTimeout, Runnable onClosed) {
        this.pod = pod;
        this.allowedPorts = allowedPorts;
        this.creationTimeout = creationTimeout;
        this.onClosed = onClosed;
    }

    void bind(SpdyConnection c) {
        this.connection = c;
        c.conn.onWritable(() -> forwards.values().forEach(Forward::clientWritable));
    }

    @Override
    public boolean stream(SpdyStream s) {
        String portText = s.header("port");
        String type = s.header("streamtype");
        int port;
        try {
            port = Integer.parseInt(portText == null ? "" : portText.strip());
        } catch (NumberFormatException e) {
            LOG.debug("streaming.portforward_bad_stream", "stream", s, "error", "\"port\" header is missing or not a number");
            return false;
        }
        if (port < 1 || port > 65535 || !("data".equals(type) || "error".equals(type))) {
            LOG.debug("streaming.portforward_bad_stream", "stream", s);
            return false;
        }
        String requestId = s.header("requestid");
        if (requestId == null || requestId.isEmpty()) {
            requestId = Integer.toString("error".equals(type) ? s.id : s.id - 2);
        }
        Pair p = pairs.get(requestId);
        if (p == null) {
            Pair created = new Pair(requestId);
            p = created;
            pairs.put(requestId, p);
            created.timer = connection.conn.ch.eventLoop().schedule(() -> {
                if (pairs.remove(created.requestId, created)) {
                    writeError(created.error, "timed out waiting for streams of request " + created.requestId);
                    for (SpdyStream x : new SpdyStream[] {created.data, created.error}) {
                        if (x != null) {
                            x.discard();
                            x.reset();
                        }
                    }
                }
            }, creationTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        if ("data".equals(type)) {
            if (p.data != null) {
                writeError(p.error, "error processing stream for request " + requestId + ": data stream already assigned");
                return false;
            }
            p.data = s;
        } else {
            if (p.error != null) {
                return false;
            }
            p.error = s;
        }
        if (p.data != null && p.error != null) {
            p.timer.cancel(false);
            pairs.remove(requestId);
            start(p, port);
        }
        return true;
    }

    private void start(Pair p, int port) {
        SpdyStream data = p.data;
        SpdyStream error = p.error;
        error.listen(discarding());
        if (!allowedPorts.isEmpty() && !allowedPorts.contains(port)) {
            writeError(error, "error forwarding port " + port + " to pod " + pod.id() + ", uid : port " + port
                    + " was not among the ports of the PortForward request " + allowedPorts);
            data.discard();
            data.close();
            return;
        }
        String key = p.requestId;
        Forward f = new Forward(connection.conn, pod, port, new Forward.Client() {
            @Override
            public void data(ByteBuf b) {
                data.writeNow(b);
            }

            @Override
            public boolean writable() {
                return data.writable();
            }

            @Override
            public void end() {
                data.close();
                error.close();
            }

            @Override
            public void error(String message) {
                LOG.info("streaming.portforward_failed", "pod", pod.id(), "port", port, "error", message);
                writeError(error, message);
                data.close();
            }
        }, () -> forwards.remove(key));
        forwards.put(key, f);
        data.listen(new SpdyStream.Listener() {
            @Override
            public void data(ByteBuf b) {
                f.fromClient(b);
            }

            @Override
            public void fin() {
                f.clientEnd();
            }

            @Override
            public void reset() {
                f.abort();
            }
        });
        f.start();
    }

    private static void writeError(SpdyStream error, String message) {
        if (error != null) {
            error.writeNow(Unpooled.copiedBuffer(message, StandardCharsets.UTF_8));
            error.close();
        }
    }

    private static SpdyStream.Listener discarding() {
        return new SpdyStream.Listener() {
            @Override
            public void data(ByteBuf data) {
                data.release();
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
        for (Pair p : pairs.values()) {
            p.timer.cancel(false);
        }
        pairs.clear();
        for (Forward f : List.copyOf(forwards.values())) {
            f.abort();
        }
        forwards.clear();
        onClosed.run();
    }
}
