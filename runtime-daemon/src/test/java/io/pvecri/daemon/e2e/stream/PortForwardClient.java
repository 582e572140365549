package io.pvecri.daemon.e2e.stream;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Port-forward from the client side. Over SPDY ({@code portforward.k8s.io}) each forwarded
 * connection is an error stream and a data stream with the same port and requestID, as
 * client-go's portforward package opens them; over WebSocket ({@code v4.channel.k8s.io}) port n of
 * the request uses channels 2n (data) and 2n+1 (error), each starting with the port number.
 */
public final class PortForwardClient {
    private PortForwardClient() {}

    /** One forwarded connection over SPDY. */
    public record Connection(SpdyClient.Stream data, SpdyClient.Stream error) {
        public void write(String s) {
            data.write(s);
        }

        public void closeWrite() {
            data.close();
        }

        public String awaitData(String expected, Duration limit) {
            return data.in.await(t -> t.contains(expected), limit, "forwarded data \"" + expected + "\"");
        }

        public String awaitError(Duration limit) {
            return new String(error.in.awaitEnd(limit, "the error stream"), StandardCharsets.UTF_8);
        }
    }

    public static final class Spdy implements AutoCloseable {
        private final SpdyClient client;
        private final AtomicInteger requestId = new AtomicInteger();

        private Spdy(SpdyClient client) {
            this.client = client;
        }

        public static Spdy connect(String url) throws Exception {
            return new Spdy(SpdyClient.connect(url, java.util.List.of("portforward.k8s.io")));
        }

        /** The same over a WebSocket ({@code SPDY/3.1+portforward.k8s.io}), as kubectl 1.31+ speaks it. */
        public static Spdy connectTunnel(String url) throws Exception {
            return new Spdy(SpdyClient.connectTunnel(url, "portforward.k8s.io"));
        }

        public SpdyClient client() {
            return client;
        }

        /** Opens one forwarded connection to {@code port} (error stream first, as client-go does). */
        public Connection forward(int port) {
            String id = Integer.toString(requestId.getAndIncrement());
            SpdyClient.Stream error = client.open(Map.of("streamType", "error", "port", Integer.toString(port), "requestID", id));
            SpdyClient.Stream data = client.open(Map.of("streamType", "data", "port", Integer.toString(port), "requestID", id));
            if (!error.accepted(Duration.ofSeconds(10)) || !data.accepted(Duration.ofSeconds(10))) {
                throw new AssertionError("the server refused the port-forward streams for port " + port);
            }
            return new Connection(data, error);
        }

        public void abort() {
            client.abort();
        }

        @Override
        public void close() {
            client.close();
        }
    }
}
