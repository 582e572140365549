package io.pvecri.image.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A plain-HTTP proxy on 127.0.0.1 in front of one registry that forwards GET and HEAD (pulls)
 * and counts them, so tests can tell how many blob downloads a registry really served.
 */
public final class CountingProxy implements AutoCloseable {

    private static final Set<String> HOP = Set.of("connection", "content-length", "transfer-encoding", "keep-alive",
            "date", "host", "upgrade");

    /** One forwarded request. */
    public record Hit(String method, String path) {
    }

    private final String upstream;
    private final HttpServer server;
    private final HttpClient http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Hit> hits = new CopyOnWriteArrayList<>();

    private CountingProxy(String upstreamAuthority) throws IOException {
        this.upstream = upstreamAuthority;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(executor);
        server.createContext("/", this::forward);
        server.start();
    }

    /** Proxies {@code http://<upstreamAuthority>}. */
    public static CountingProxy start(String upstreamAuthority) {
        try {
            return new CountingProxy(upstreamAuthority);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String authority() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public List<Hit> hits() {
        return List.copyOf(hits);
    }

    /** GETs of blobs seen, by digest. */
    public Map<String, Integer> blobGets() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Hit h : hits) {
            int i = h.path().indexOf("/blobs/");
            if (h.method().equals("GET") && i >= 0) {
                out.merge(h.path().substring(i + "/blobs/".length()), 1, Integer::sum);
            }
        }
        return out;
    }

    public void clear() {
        hits.clear();
    }

    private void forward(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            URI target = URI.create("http://" + upstream + ex.getRequestURI().toString());
            hits.add(new Hit(method, ex.getRequestURI().getRawPath()));
            if (!method.equals("GET") && !method.equals("HEAD")) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(target).method(method, HttpRequest.BodyPublishers.noBody())
                    .timeout(Duration.ofSeconds(60));
            for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
                if (!HOP.contains(h.getKey().toLowerCase())) {
                    h.getValue().forEach(v -> rb.header(h.getKey(), v));
                }
            }
            HttpResponse<InputStream> resp;
            try {
                resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            resp.headers().map().forEach((k, vs) -> {
                if (!HOP.contains(k.toLowerCase())) {
                    vs.forEach(v -> ex.getResponseHeaders().add(k, v));
                }
            });
            long length = resp.headers().firstValueAsLong("Content-Length").orElse(-1);
            try (InputStream in = resp.body()) {
                if (method.equals("HEAD")) {
                    if (length >= 0) {
                        ex.getResponseHeaders().set("Content-Length", Long.toString(length));
                    }
                    ex.sendResponseHeaders(resp.statusCode(), -1);
                    return;
                }
                ex.sendResponseHeaders(resp.statusCode(), length < 0 ? 0 : length == 0 ? -1 : length);
                try (OutputStream out = ex.getResponseBody()) {
                    in.transferTo(out);
                }
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        http.close();
        executor.shutdownNow();
    }
}
