package io.pvecri.daemon.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/** Serves {@code /metrics} (Prometheus text) and {@code /healthz} on a loopback TCP port. */
public final class MetricsServer implements AutoCloseable {
    private static final Log LOG = Log.get(MetricsServer.class);

    private final HttpServer server;

    public MetricsServer(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/metrics", ex -> reply(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        server.createContext("/healthz", ex -> {
            boolean ok = healthy.getAsBoolean();
            reply(ex, ok ? 200 : 503, "text/plain", ok ? "ok\n" : "not ready\n");
        });
        server.start();
        LOG.info("metrics.listening", "address", address());
    }

    /** host:port actually bound (the port may have been 0). */
    public String address() {
        InetSocketAddress a = server.getAddress();
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    private static void reply(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
