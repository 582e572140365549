package io.pvecri.image.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A registry written for tests (JDK {@code HttpServer} on 127.0.0.1): serves pushed
 * {@link RegistryImage}s over the distribution API and can misbehave on purpose: bearer-token
 * or basic auth, blobs that are corrupt, truncated, stalled or redirected to another host,
 * fixed statuses (429, 5xx), no HEAD support, schema 1 manifests. Records every request.
 */
public final class FakeRegistry implements AutoCloseable {

    /** What to do with a blob request. */
    public enum BlobFault { CORRUPT, TRUNCATE, STALL, REDIRECT }

    /** One request seen. */
    public record Request(String method, String path, String authorization) {
    }

    private final HttpServer server;
    private final HttpServer blobHost;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, byte[]> manifests = new ConcurrentHashMap<>(); // "repo|ref" -> doc
    private final Map<String, String> manifestTypes = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, BlobFault> faults = new ConcurrentHashMap<>();
    private final Map<String, Integer> statusByPathPrefix = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Request> blobHostRequests = new CopyOnWriteArrayList<>();
    private final Set<String> issuedTokens = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private final List<String> tokenScopes = new CopyOnWriteArrayList<>();
    private volatile String authMode = "none"; // none, bearer, basic
    private volatile String user;
    private volatile String password;
    private volatile String refreshToken;
    private volatile boolean headSupported = true;
    private volatile long stallMillis = 5000;

    private FakeRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        blobHost = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        blobHost.setExecutor(executor);
        blobHost.createContext("/", this::handleBlobHost);
        blobHost.start();
    }

    public static FakeRegistry start() {
        try {
            return new FakeRegistry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String authority() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    /** The second server that redirected blobs are served from. */
    public String blobHostAuthority() {
        return "127.0.0.1:" + blobHost.getAddress().getPort();
    }

    // ---- content and behaviour -----------------------------------------------------------------

    /** Adds an image (its children, blobs, and the top document under its digest and {@code tag}). */
    public FakeRegistry put(String repository, RegistryImage image, String tag) {
        blobs.putAll(image.blobs());
        for (RegistryImage child : image.children()) {
            putManifest(repository, child.digest(), child.manifest(), child.mediaType());
        }
        putManifest(repository, image.digest(), image.manifest(), image.mediaType());
        if (tag != null) {
            putManifest(repository, tag, image.manifest(), image.mediaType());
        }
        return this;
    }

    /** Serves {@code doc} under {@code ref} (a tag or digest) and under its own digest. */
    public FakeRegistry putManifest(String repository, String ref, byte[] doc, String mediaType) {
        for (String r : List.of(ref, TestImages.sha256(doc))) {
            manifests.put(repository + "|" + r, doc);
            manifestTypes.put(repository + "|" + r, mediaType);
        }
        return this;
    }

    /** Bearer auth through {@code /token}; {@code user} null accepts anonymous token requests. */
    public FakeRegistry requireBearer(String user, String password) {
        this.authMode = "bearer";
        this.user = user;
        this.password = password;
        return this;
    }

    /** Also accept an OAuth2 refresh token (identity token) posted to {@code /token}. */
    public FakeRegistry acceptRefreshToken(String token) {
        this.refreshToken = token;
        return this;
    }

    public FakeRegistry requireBasic(String user, String password) {
        this.authMode = "basic";
        this.user = user;
        this.password = password;
        return this;
    }

    public FakeRegistry fault(String blobDigest, BlobFault fault) {
        faults.put(blobDigest, fault);
        return this;
    }

    public FakeRegistry stallMillis(long ms) {
        this.stallMillis = ms;
        return this;
    }

    /** Every request whose path starts with {@code prefix} gets {@code status}. */
    public FakeRegistry status(String pathPrefix, int status) {
        statusByPathPrefix.put(pathPrefix, status);
        return this;
    }

    public FakeRegistry headSupported(boolean supported) {
        this.headSupported = supported;
        return this;
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public List<Request> blobHostRequests() {
        return List.copyOf(blobHostRequests);
    }

    /** GETs of {@code /v2/.../blobs/<digest>} seen, by digest. */
    public Map<String, Integer> blobGets() {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Request r : requests) {
            int i = r.path().indexOf("/blobs/");
            if (r.method().equals("GET") && i >= 0) {
                out.merge(r.path().substring(i + "/blobs/".length()), 1, Integer::sum);
            }
        }
        return out;
    }

    public int tokenRequests() {
        return tokenRequests.get();
    }

    public List<String> tokenScopes() {
        return List.copyOf(tokenScopes);
    }

    public void clearRequests() {
        requests.clear();
        blobHostRequests.clear();
    }

    @Override
    public void close() {
        server.stop(0);
        blobHost.stop(0);
        executor.shutdownNow();
    }

    // ---- serving ------------------------------------------------------------------------------

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            String method = ex.getRequestMethod();
            String authz = ex.getRequestHeaders().getFirst("Authorization");
            if (path.equals("/token")) {
                token(ex);
                return;
            }
            requests.add(new Request(method, path, authz));
            for (Map.Entry<String, Integer> s : statusByPathPrefix.entrySet()) {
                if (path.startsWith(s.getKey())) {
                    if (s.getValue() == 429) {
                        ex.getResponseHeaders().add("Retry-After", "7");
                    }
                    error(ex, s.getValue(), s.getValue() == 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE", "injected failure");
                    return;
                }
            }
            if (!authorized(ex, authz, path)) {
                return;
            }
            if (path.equals("/v2/") || path.equals("/v2")) {
                ex.sendResponseHeaders(200, -1);
                return;
            }
            int m = path.indexOf("/manifests/");
            int b = path.indexOf("/blobs/");
            if (path.startsWith("/v2/") && m > 0) {
                manifest(ex, path.substring(4, m), path.substring(m + "/manifests/".length()), method);
            } else if (path.startsWith("/v2/") && b > 0) {
                blob(ex, path.substring(b + "/blobs/".length()), method);
            } else {
                error(ex, 404, "NOT_FOUND", "no route " + path);
            }
        }
    }

    private boolean authorized(HttpExchange ex, String authz, String path) throws IOException {
        switch (authMode) {
            case "bearer" -> {
                if (authz != null && authz.startsWith("Bearer ") && issuedTokens.contains(authz.substring(7))) {
                    return true;
                }
                String repo = path.startsWith("/v2/") && path.contains("/manifests/")
                        ? path.substring(4, path.indexOf("/manifests/"))
                        : path.startsWith("/v2/") && path.contains("/blobs/") ? path.substring(4, path.indexOf("/blobs/")) : "";
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + authority()
                        + "/token\",service=\"fake-registry\",scope=\"repository:" + repo + ":pull\"");
                error(ex, 401, "UNAUTHORIZED", "authentication required");
                return false;
            }
            case "basic" -> {
                String want = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
                if (want.equals(authz)) {
                    return true;
                }
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"fake\"");
                error(ex, 401, "UNAUTHORIZED", "authentication required");
                return false;
            }
            default -> {
                return true;
            }
        }
    }

    private void token(HttpExchange ex) throws IOException {
        tokenRequests.incrementAndGet();
        Map<String, String> params = new LinkedHashMap<>();
        String query = ex.getRequestURI().getRawQuery();
        if (ex.getRequestMethod().equals("POST")) {
            query = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        }
        if (query != null) {
            for (String kv : query.split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    params.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        tokenScopes.add(params.getOrDefault("scope", ""));
        boolean ok;
        if (ex.getRequestMethod().equals("POST")) {
            ok = refreshToken != null && refreshToken.equals(params.get("refresh_token"))
                    && "refresh_token".equals(params.get("grant_type"));
        } else if (user == null) {
            ok = true;
        } else {
            String want = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
            ok = want.equals(ex.getRequestHeaders().getFirst("Authorization"));
        }
        if (!ok) {
            error(ex, 401, "UNAUTHORIZED", "bad credentials");
            return;
        }
        String t = "tok-" + tokenRequests.get() + "-" + System.nanoTime();
        issuedTokens.add(t);
        String field = ex.getRequestMethod().equals("POST") ? "access_token" : "token";
        byte[] body = ("{\"" + field + "\":\"" + t + "\",\"expires_in\":300}").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private void manifest(HttpExchange ex, String repo, String ref, String method) throws IOException {
        byte[] doc = manifests.get(repo + "|" + ref);
        if (doc == null) {
            error(ex, 404, "MANIFEST_UNKNOWN", "manifest unknown");
            return;
        }
        if (method.equals("HEAD") && !headSupported) {
            ex.sendResponseHeaders(405, -1);
            return;
        }
        ex.getResponseHeaders().add("Content-Type", manifestTypes.get(repo + "|" + ref));
        ex.getResponseHeaders().add("Docker-Content-Digest", TestImages.sha256(doc));
        if (method.equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(doc.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, doc.length);
        ex.getResponseBody().write(doc);
    }

    private void blob(HttpExchange ex, String digest, String method) throws IOException {
        byte[] data = blobs.get(digest);
        if (data == null) {
            error(ex, 404, "BLOB_UNKNOWN", "blob unknown");
            return;
        }
        BlobFault fault = faults.get(digest);
        if (fault == BlobFault.REDIRECT) {
            ex.getResponseHeaders().add("Location", "http://" + blobHostAuthority() + "/storage/" + digest + "?sig=abc");
            ex.sendResponseHeaders(307, -1);
            return;
        }
        if (method.equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(data.length));
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.getResponseHeaders().add("Docker-Content-Digest", digest);
        ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
        OutputStream out;
        if (fault == null) {
            ex.sendResponseHeaders(200, data.length);
            ex.getResponseBody().write(data);
            return;
        }
        switch (fault) {
            case CORRUPT -> {
                byte[] bad = data.clone();
                bad[bad.length / 2] ^= 0x55;
                ex.sendResponseHeaders(200, bad.length);
                ex.getResponseBody().write(bad);
            }
            case TRUNCATE -> {
                ex.sendResponseHeaders(200, data.length);
                out = ex.getResponseBody();
                out.write(data, 0, data.length / 2);
                out.flush();
                // close the connection before the promised length: the client sees a short body
                throw new IOException("truncating on purpose");
            }
            case STALL -> {
                ex.sendResponseHeaders(200, data.length);
                out = ex.getResponseBody();
                out.write(data, 0, Math.min(data.length, 100));
                out.flush();
                try {
                    Thread.sleep(stallMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IOException("stalled on purpose");
            }
            default -> throw new IllegalStateException();
        }
    }

    private void handleBlobHost(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            blobHostRequests.add(new Request(ex.getRequestMethod(), path, ex.getRequestHeaders().getFirst("Authorization")));
            byte[] data = path.startsWith("/storage/") ? blobs.get(path.substring("/storage/".length())) : null;
            if (data == null) {
                error(ex, 404, "NOT_FOUND", "no such object");
                return;
            }
            ex.sendResponseHeaders(200, data.length);
            ex.getResponseBody().write(data);
        }
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        byte[] body = ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
    }

    /** For tests that want a list of requests of one kind. */
    public List<Request> requests(String method, String pathPart) {
        List<Request> out = new ArrayList<>();
        for (Request r : requests) {
            if (r.method().equals(method) && r.path().contains(pathPart)) {
                out.add(r);
            }
        }
        return out;
    }
}
