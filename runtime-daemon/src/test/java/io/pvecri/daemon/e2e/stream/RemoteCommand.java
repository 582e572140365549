package io.pvecri.daemon.e2e.stream;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An exec or attach session from the client side, over either transport, as kubectl/crictl run
 * it: SPDY opens the error, stdin, stdout, stderr and resize streams the request asked for
 * ({@code v4.channel.k8s.io}); WebSocket uses channels 0-4 ({@code v5.channel.k8s.io}, whose
 * close signal ends stdin). The error stream's content is the final status.
 */
public final class RemoteCommand implements AutoCloseable {
    public enum Transport { SPDY, WEBSOCKET }

    private final Transport transport;
    private final SpdyClient spdy;
    private final WsClient ws;
    private SpdyClient.Stream error;
    private SpdyClient.Stream stdin;
    private SpdyClient.Stream resize;
    public final Inbox stdout;
    public final Inbox stderr;
    private final Inbox status;

    private RemoteCommand(Transport t, SpdyClient spdy, WsClient ws, Inbox stdout, Inbox stderr, Inbox status) {
        this.transport = t;
        this.spdy = spdy;
        this.ws = ws;
        this.stdout = stdout;
        this.stderr = stderr;
        this.status = status;
    }

    public static RemoteCommand open(Transport t, String url, boolean stdin, boolean stdout, boolean stderr, boolean tty)
            throws Exception {
        return open(t, url, stdin, stdout, stderr, tty, t == Transport.SPDY ? "v4.channel.k8s.io" : "v5.channel.k8s.io");
    }

    public static RemoteCommand open(Transport t, String url, boolean stdin, boolean stdout, boolean stderr, boolean tty,
                                     String protocol) throws Exception {
        if (t == Transport.SPDY) {
            SpdyClient c = SpdyClient.connect(url, List.of(protocol));
            SpdyClient.Stream error = c.open(headers("error"));
            SpdyClient.Stream in = stdin ? c.open(headers("stdin")) : null;
            SpdyClient.Stream out = stdout ? c.open(headers("stdout")) : null;
            SpdyClient.Stream err = stderr ? c.open(headers("stderr")) : null;
            SpdyClient.Stream rs = tty ? c.open(headers("resize")) : null;
            for (SpdyClient.Stream s : new SpdyClient.Stream[] {error, in, out, err, rs}) {
                if (s != null && !s.accepted(Duration.ofSeconds(10))) {
                    throw new AssertionError("the server reset stream " + s.id());
                }
            }
            RemoteCommand rc = new RemoteCommand(t, c, null, out != null ? out.in : new Inbox(), err != null ? err.in : new Inbox(), error.in);
            rc.error = error;
            rc.stdin = in;
            rc.resize = rs;
            return rc;
        }
        WsClient c = WsClient.connect(url, protocol);
        return new RemoteCommand(t, null, c, c.channel(1), c.channel(2), c.channel(3));
    }

    private static Map<String, String> headers(String type) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("streamType", type);
        return h;
    }

    public SpdyClient spdy() {
        return spdy;
    }

    public WsClient ws() {
        return ws;
    }

    public void stdin(String s) {
        stdin(s.getBytes(StandardCharsets.UTF_8));
    }

    public void stdin(byte[] b) {
        if (transport == Transport.SPDY) {
            stdin.write(b);
        } else {
            ws.send(0, b);
        }
    }

    public void closeStdin() {
        if (transport == Transport.SPDY) {
            stdin.close();
        } else {
            ws.closeChannel(0);
        }
    }

    public void resize(int width, int height) {
        String json = "{\"Width\":" + width + ",\"Height\":" + height + "}";
        if (transport == Transport.SPDY) {
            resize.write(json + "\n");
        } else {
            ws.send(4, json);
        }
    }

    /** Waits for the end of the session and returns what the error stream carried. */
    public String awaitStatus(Duration limit) {
        if (transport == Transport.SPDY) {
            return new String(status.awaitEnd(limit, "the error stream"), StandardCharsets.UTF_8);
        }
        ws.awaitClose(limit);
        return status.text();
    }

    /** Whether the server has ended the session (error stream done / WebSocket closed). */
    public boolean ended() {
        return transport == Transport.SPDY ? status.ended() : ws.isClosed();
    }

    /** Drops the connection with a TCP reset, as a killed client would. */
    public void abort() {
        if (spdy != null) {
            spdy.abort();
        } else {
            ws.abort();
        }
    }

    @Override
    public void close() {
        if (spdy != null) {
            spdy.close();
        } else {
            ws.close();
        }
    }
}
