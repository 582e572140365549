package io.pvecri.image;

import com.fasterxml.jackson.annotation.JsonProperty;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * HTTP side of pulls: the Docker Registry HTTP API v2 / OCI distribution API with mirrors,
 * bearer and basic auth, redirects, plain-HTTP fallback for loopback and insecure registries,
 * and watched (timed-out) requests. Shared by all pulls of a {@link RegistryPuller}; keeps learned
 * auth challenges, bearer tokens (until they expire) and plain-HTTP endpoints.
 */
final class RegistryClient implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RegistryClient.class.getName());
    static final String USER_AGENT = "pve-cri";
    static final String DOCKER_HUB_API = "registry-1.docker.io";
    private static final int MAX_REDIRECTS = 5;
    private static final int MAX_ERROR_BODY = 8192;
    private static final int MAX_TOKEN_BODY = 1 << 20;
    private static final int BUFFER = 64 * 1024;
    private static final long MIN_TOKEN_SECONDS = 60;
    private static final java.time.Duration LOOPBACK_CONNECT = java.time.Duration.ofSeconds(2);
    private static final Pattern LOOPBACK_V4 = Pattern.compile("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");

    static final String MANIFEST_ACCEPT = String.join(", ", MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST_LIST,
            MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST,
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "application/vnd.docker.distribution.manifest.v1+json");

    private final RegistryConfig config;
    private final Map<String, HttpClient> clients = new ConcurrentHashMap<>();
    /** Authorities (host:port) found to speak plain HTTP. */
    private final Set<String> plainHttp = ConcurrentHashMap.newKeySet();
    /** Last auth challenge per authority. */
    private final Map<String, Challenge> challenges = new ConcurrentHashMap<>();
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();

    RegistryClient(RegistryConfig config) {
        this.config = config;
    }

    // ---- endpoints ----------------------------------------------------------------------------

    /**
     * A place to send requests: a mirror or the registry itself.
     *
     * @param scheme   fixed scheme, or null for HTTPS with a learned plain-HTTP fallback
     * @param fallback plain HTTP may be tried when TLS fails (loopback or insecure hosts)
     */
    record Endpoint(String authority, String scheme, boolean mirror, boolean fallback) {
        @Override
        public String toString() {
            return (mirror ? "mirror " : "registry ") + authority;
        }
    }

    /** Mirrors of the reference's registry first, then the registry itself. */
    List<Endpoint> endpoints(ImageReference ref) {
        List<Endpoint> out = new ArrayList<>();
        RegistryConfig.Host host = config.host(ref.domain());
        for (URI m : host.mirrors()) {
            String authority = m.getRawAuthority().toLowerCase(Locale.ROOT);
            out.add(new Endpoint(authority, m.getScheme(), true, false));
        }
        String authority = ref.domain().equals(ImageReference.DEFAULT_DOMAIN) ? DOCKER_HUB_API : ref.domain();
        out.add(new Endpoint(authority, host.plainHttp() ? "http" : null, false, host.insecure() || isLoopback(authority)));
        return out;
    }

    static boolean isLoopback(String authority) {
        String host = hostOf(authority);
        return host.equals("localhost") || host.equals("::1") || host.equals("0:0:0:0:0:0:0:1")
                || LOOPBACK_V4.matcher(host).matches();
    }

    private static String hostOf(String authority) {
        String a = authority.toLowerCase(Locale.ROOT);
        if (a.startsWith("[")) {
            int end = a.indexOf(']');
            return end < 0 ? a : a.substring(1, end);
        }
        int colon = a.lastIndexOf(':');
        return colon < 0 ? a : a.substring(0, colon);
    }

    private URI uri(Endpoint ep, String path) {
        String scheme = ep.scheme() != null ? ep.scheme() : plainHttp.contains(ep.authority()) ? "http" : "https";
        return URI.create(scheme + "://" + ep.authority() + path);
    }

    private HttpClient clientFor(String authority) {
        RegistryConfig.Host h = config.host(authority.equals(DOCKER_HUB_API) ? ImageReference.DEFAULT_DOMAIN : authority);
        // Loopback connects are immediate; a long "connect" there is a TLS handshake with a server
        // that does not speak TLS and never answers, so give up soon and fall back to plain HTTP.
        boolean loopback = isLoopback(authority);
        String key = (h.insecure() ? "insecure" : h.caFile() != null ? "ca:" + h.caFile() : "verify")
                + (loopback ? "|loopback" : "");
        java.time.Duration connect = loopback && config.connectTimeout().compareTo(LOOPBACK_CONNECT) > 0
                ? LOOPBACK_CONNECT : config.connectTimeout();
        return clients.computeIfAbsent(key, k -> HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connect)
                .sslContext(sslContext(h))
                .build());
    }

    private static SSLContext sslContext(RegistryConfig.Host h) {
        try {
            if (h.insecure()) {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, new TrustManager[]{new TrustAll()}, null);
                return ctx;
            }
            if (h.caFile() != null) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                TrustManagerFactory def = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                def.init((KeyStore) null);
                int i = 0;
                for (TrustManager tm : def.getTrustManagers()) {
                    if (tm instanceof X509TrustManager x) {
                        for (X509Certificate c : x.getAcceptedIssuers()) {
                            ks.setCertificateEntry("jdk-" + i++, c);
                        }
                    }
                }
                try (InputStream in = Files.newInputStream(h.caFile())) {
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        ks.setCertificateEntry("ca-" + i++, c);
                    }
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, tmf.getTrustManagers(), null);
                return ctx;
            }
            return SSLContext.getDefault();
        } catch (Exception e) {
            throw new IllegalStateException("cannot set up TLS" + (h.caFile() != null ? " with CA file " + h.caFile() : "")
                    + ": " + e.getMessage(), e);
        }
    }

    /** Accepts every certificate and host name: insecure registries only. */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
        @Override public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    // ---- requests -----------------------------------------------------------------------------

    /** A response whose body is still to be read (and closed). */
    record Response(Endpoint endpoint, URI uri, int status, HttpHeaders headers, InputStream body) implements AutoCloseable {
        Optional<String> header(String name) {
            return headers.firstValue(name);
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }

    /**
     * Sends a request to an endpoint, authenticating on a 401 challenge (once) and following
     * redirects when asked; the Authorization header is only sent to the endpoint's own
     * authority. Returns any final status; the caller maps errors with {@link #failure}.
     */
    Response send(Endpoint ep, ImageReference ref, PullContext ctx, PullContext.Watch watch, String method,
                  String path, String accept, boolean followRedirects, String what) throws ImageCacheException {
        ctx.checkDeadline(ep.authority());
        RegistryAuth creds = ep.mirror() ? RegistryAuth.ANONYMOUS : ctx.auth;
        String scope = "repository:" + ref.path() + ":pull";
        boolean authRetried = false;
        boolean tlsRetried = false;
        URI target = null; // set after a redirect
        int redirects = 0;
        while (true) {
            URI u = target != null ? target : uri(ep, path);
            boolean own = target == null || sameOrigin(u, uri(ep, path));
            HttpRequest.Builder rb = HttpRequest.newBuilder(u)
                    .method(method, HttpRequest.BodyPublishers.noBody())
                    .timeout(ctx.progressTimeout())
                    .header("User-Agent", USER_AGENT);
            if (accept != null) {
                rb.header("Accept", accept);
            }
            if (own) {
                String authorization = authorization(ep, ref, ctx, watch, creds, scope);
                if (authorization != null) {
                    rb.header("Authorization", authorization);
                }
            }
            HttpResponse<InputStream> resp;
            try {
                resp = clientFor(u.getRawAuthority()).send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
                watch.progress();
            } catch (IOException e) {
                boolean handshakeHang = e instanceof HttpConnectTimeoutException && isLoopback(ep.authority());
                if (ep.fallback() && !tlsRetried && target == null && "https".equals(u.getScheme())
                        && (notTls(e) || handshakeHang)) {
                    LOG.log(System.Logger.Level.INFO, "{0} does not speak TLS ({1}); using plain HTTP", ep.authority(),
                            e.getMessage());
                    plainHttp.add(ep.authority());
                    tlsRetried = true;
                    continue;
                }
                throw networkFailure(ep, u, watch, e, what);
            } catch (InterruptedException e) {
                throw interrupted(ep, watch, what);
            }
            int status = resp.statusCode();
            if (status == 401 && own && !authRetried) {
                Optional<Challenge> ch = Challenge.parse(resp.headers().allValues("WWW-Authenticate"));
                drain(resp.body());
                if (ch.isPresent()) {
                    challenges.put(ep.authority(), ch.get());
                    authRetried = true;
                    continue;
                }
                return new Response(ep, u, status, resp.headers(), InputStream.nullInputStream());
            }
            if (followRedirects && isRedirect(status)) {
                Optional<String> location = resp.headers().firstValue("Location");
                drain(resp.body());
                if (location.isEmpty()) {
                    throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep + " answered "
                            + status + " without a Location header while fetching " + what);
                }
                if (++redirects > MAX_REDIRECTS) {
                    throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep
                            + ": more than " + MAX_REDIRECTS + " redirects while fetching " + what);
                }
                URI next = u.resolve(location.get().strip());
                if (next.getScheme() == null || !(next.getScheme().equals("http") || next.getScheme().equals("https"))) {
                    throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep
                            + " redirected to '" + location.get() + "', which is not an http(s) URL, while fetching " + what);
                }
                LOG.log(System.Logger.Level.DEBUG, "{0}: {1} redirected to {2}", what, u, next.getRawAuthority());
                target = next;
                continue;
            }
            return new Response(ep, u, status, resp.headers(), resp.body());
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getRawAuthority().equalsIgnoreCase(b.getRawAuthority());
    }

    /** TLS could not even start: the server speaks plain HTTP (not a certificate problem). */
    private static boolean notTls(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException) {
                String m = String.valueOf(t.getMessage());
                if (m.contains("Unsupported or unrecognized SSL message") || m.contains("Remote host terminated")) {
                    return true;
                }
                return false;
            }
            if (t instanceof SSLException) {
                return true;
            }
        }
        return false;
    }

    /** The Authorization header for a request to {@code ep}, or null to go without. */
    private String authorization(Endpoint ep, ImageReference ref, PullContext ctx, PullContext.Watch watch,
                                 RegistryAuth creds, String scope) throws ImageCacheException {
        if (creds instanceof RegistryAuth.RegistryToken t) {
            return "Bearer " + t.token();
        }
        Challenge ch = challenges.get(ep.authority());
        if (ch == null) {
            return null;
        }
        if (ch.scheme().equals("basic")) {
            if (creds instanceof RegistryAuth.Basic b) {
                return "Basic " + Base64.getEncoder().encodeToString(
                        (b.username() + ":" + b.password()).getBytes(StandardCharsets.UTF_8));
            }
            return null;
        }
        return "Bearer " + token(ep, ref, ctx, watch, creds, ch, scope);
    }

    // ---- bearer tokens ------------------------------------------------------------------------

    record Token(String value, long expiresAtNanos) {
    }

    private record TokenReply(String token, @JsonProperty("access_token") String accessToken,
                              @JsonProperty("expires_in") Long expiresIn) {
    }

    private String token(Endpoint ep, ImageReference ref, PullContext ctx, PullContext.Watch watch,
                         RegistryAuth creds, Challenge ch, String scope) throws ImageCacheException {
        String realm = ch.params().get("realm");
        if (realm == null || realm.isEmpty()) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep
                    + " asked for a bearer token without naming a realm (token service)");
        }
        String service = ch.params().getOrDefault("service", "");
        String key = ep.authority() + "|" + realm + "|" + service + "|" + scope + "|" + credentialKey(creds);
        Token cached = tokens.get(key);
        if (cached != null && cached.expiresAtNanos() - System.nanoTime() > 0) {
            return cached.value();
        }
        URI realmUri;
        try {
            realmUri = URI.create(realm);
        } catch (IllegalArgumentException e) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep
                    + " named an invalid token realm '" + realm + "'");
        }
        if (realmUri.getScheme() == null || realmUri.getRawAuthority() == null
                || !(realmUri.getScheme().equals("https") || realmUri.getScheme().equals("http"))) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), ep
                    + " named a token realm '" + realm + "' that is not an http(s) URL");
        }
        boolean credsAllowed = realmUri.getScheme().equals("https") || isLoopback(realmUri.getRawAuthority())
                || "http".equals(uri(ep, "/").getScheme());
        RegistryAuth sent = credsAllowed ? creds : RegistryAuth.ANONYMOUS;
        if (!credsAllowed && !(creds instanceof RegistryAuth.Anonymous)) {
            LOG.log(System.Logger.Level.WARNING, "not sending credentials to the plain-HTTP token service {0} of {1}",
                    realmUri.getRawAuthority(), ep.authority());
        }
        StringBuilder form = new StringBuilder();
        if (!service.isEmpty()) {
            form.append("service=").append(enc(service)).append('&');
        }
        form.append("scope=").append(enc(scope));
        HttpRequest.Builder rb;
        if (sent instanceof RegistryAuth.IdentityToken it) {
            String body = form + "&grant_type=refresh_token&client_id=" + USER_AGENT + "&refresh_token=" + enc(it.token());
            rb = HttpRequest.newBuilder(realmUri).POST(HttpRequest.BodyPublishers.ofString(body))
                    .header("Content-Type", "application/x-www-form-urlencoded");
        } else {
            String sep = realmUri.getRawQuery() == null ? "?" : "&";
            rb = HttpRequest.newBuilder(URI.create(realm + sep + form)).GET();
            if (sent instanceof RegistryAuth.Basic b) {
                rb.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        (b.username() + ":" + b.password()).getBytes(StandardCharsets.UTF_8)));
            }
        }
        rb.timeout(ctx.progressTimeout()).header("User-Agent", USER_AGENT).header("Accept", "application/json");
        HttpResponse<InputStream> resp;
        try {
            resp = clientFor(realmUri.getRawAuthority()).send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
            watch.progress();
        } catch (IOException e) {
            throw networkFailure(ep, realmUri, watch, e, "a token from " + realmUri.getRawAuthority());
        } catch (InterruptedException e) {
            throw interrupted(ep, watch, "a token from " + realmUri.getRawAuthority());
        }
        byte[] body;
        try (InputStream in = resp.body()) {
            body = in.readNBytes(MAX_TOKEN_BODY + 1);
        } catch (IOException e) {
            throw networkFailure(ep, realmUri, watch, e, "a token from " + realmUri.getRawAuthority());
        }
        int status = resp.statusCode();
        if (status == 401 || status == 403) {
            String who = sent.user().map(u -> "the credentials of user '" + u + "'").orElse(
                    sent instanceof RegistryAuth.Anonymous ? "an anonymous request (no credentials were given)" : "the token");
            throw new RegistryException(status == 401 ? RegistryException.Reason.UNAUTHORIZED : RegistryException.Reason.FORBIDDEN,
                    ep.authority(), "the token service " + realmUri.getRawAuthority() + " of registry " + ep.authority()
                    + " refused " + who + " for pulling " + ref.repository() + " (HTTP " + status + ")" + errorDetail(body));
        }
        if (status != 200) {
            throw statusFailure(ep, ref, sent, status, body, resp.headers(), "a token from " + realmUri.getRawAuthority(), false);
        }
        if (body.length > MAX_TOKEN_BODY) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(),
                    "the token service " + realmUri.getRawAuthority() + " sent more than 1 MiB");
        }
        TokenReply reply;
        try {
            reply = Json.parse(body, TokenReply.class, "token response of " + realmUri.getRawAuthority());
        } catch (InvalidImageException e) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(), e.getMessage());
        }
        String value = reply.token() != null && !reply.token().isEmpty() ? reply.token() : reply.accessToken();
        if (value == null || value.isEmpty()) {
            throw new RegistryException(RegistryException.Reason.PROTOCOL, ep.authority(),
                    "the token service " + realmUri.getRawAuthority() + " answered without a token");
        }
        long seconds = Math.max(MIN_TOKEN_SECONDS, reply.expiresIn() == null ? MIN_TOKEN_SECONDS : reply.expiresIn());
        // Renew a little early so a token does not expire between check and use.
        long lifetime = (long) (seconds * 0.9) * 1_000_000_000L;
        tokens.put(key, new Token(value, System.nanoTime() + lifetime));
        return value;
    }

    private static String credentialKey(RegistryAuth creds) {
        String secret = switch (creds) {
            case RegistryAuth.Anonymous a -> "anonymous";
            case RegistryAuth.Basic b -> "basic:" + b.username() + ":" + b.password();
            case RegistryAuth.IdentityToken t -> "identity:" + t.token();
            case RegistryAuth.RegistryToken t -> "registry:" + t.token();
        };
        return Digest.of(secret.getBytes(StandardCharsets.UTF_8)).hex();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    // ---- manifests and blobs ------------------------------------------------------------------

    /** A manifest or index as the registry returned it. */
    record Fetched(Endpoint endpoint, byte[] bytes, String contentType, Digest digest) {
    }

    /** What a HEAD on a manifest said; fields are null when the registry did not send them. */
    record Head(Endpoint endpoint, Digest digest, String contentType, Long size) {
    }

    /**
     * HEAD of a manifest by tag or digest. Returns null if the registry does not answer HEAD
     * usefully (405, no digest header), so the caller falls back to GET.
     */
    Head headManifest(Endpoint ep, ImageReference ref, PullContext ctx, String tagOrDigest) throws ImageCacheException {
        String what = "manifest " + ref.repository() + ":" + tagOrDigest;
        try (PullContext.Watch w = ctx.watch("resolving " + what + " at " + ep);
             Response r = send(ep, ref, ctx, w, "HEAD", "/v2/" + ref.path() + "/manifests/" + tagOrDigest,
                     MANIFEST_ACCEPT, false, what)) {
            if (r.status() == 405 || r.status() == 400 || r.status() == 501) {
                return null; // HEAD not supported: resolve with GET
            }
            if (r.status() != 200) {
                throw statusFailure(ep, ref, ctx.auth, r.status(), new byte[0], r.headers(), what, true);
            }
            Digest digest = null;
            Optional<String> dh = r.header("Docker-Content-Digest");
            if (dh.isPresent()) {
                try {
                    digest = Digest.parse(dh.get().strip(), "Docker-Content-Digest of " + what);
                } catch (InvalidImageException e) {
                    digest = null; // another algorithm: resolve through GET
                }
            }
            Long size = r.headers().firstValueAsLong("Content-Length").stream().boxed().findFirst().orElse(null);
            return digest == null ? null : new Head(ep, digest, r.header("Content-Type").orElse(null), size);
        }
    }

    /**
     * GET of a manifest or index, bounded by the metadata limit. With {@code expected}, the
     * content must match it (and {@code expectedSize}, when not null).
     */
    Fetched getManifest(Endpoint ep, ImageReference ref, PullContext ctx, String tagOrDigest, Digest expected,
                        Long expectedSize) throws ImageCacheException {
        String what = "manifest " + ref.repository() + (tagOrDigest.contains(":") ? "@" : ":") + tagOrDigest;
        try (PullContext.Watch w = ctx.watch("fetching " + what + " from " + ep);
             Response r = send(ep, ref, ctx, w, "GET", "/v2/" + ref.path() + "/manifests/" + tagOrDigest,
                     MANIFEST_ACCEPT, false, what)) {
            if (r.status() != 200) {
                throw statusFailure(ep, ref, ctx.auth, r.status(), readError(r.body()), r.headers(), what, true);
            }
            byte[] bytes;
            try {
                bytes = readBounded(r.body(), w, Limits.MAX_JSON_BYTES + 1);
            } catch (IOException e) {
                throw networkFailure(ep, r.uri(), w, e, what);
            }
            if (bytes.length > Limits.MAX_JSON_BYTES) {
                throw Json.tooBig(what + " from " + ep, bytes.length);
            }
            ctx.bytesFetched.addAndGet(bytes.length);
            Digest actual = Digest.of(bytes);
            if (expected != null && !actual.equals(expected)) {
                throw new InvalidImageException(what + " from " + ep + ": content does not match its digest " + expected
                        + " (computed " + actual + "); the registry sent corrupt or different content");
            }
            if (expectedSize != null && expectedSize != bytes.length) {
                throw new InvalidImageException(what + " from " + ep + ": size mismatch, descriptor says "
                        + expectedSize + " bytes but " + bytes.length + " were sent");
            }
            if (expected == null) {
                Optional<String> dh = r.header("Docker-Content-Digest");
                if (dh.isPresent() && dh.get().strip().startsWith(Digest.ALGORITHM + ":")
                        && !dh.get().strip().equals(actual.toString())) {
                    throw new InvalidImageException(what + " from " + ep + ": content has digest " + actual
                            + " but the registry says " + dh.get().strip() + "; refusing corrupt content");
                }
            }
            return new Fetched(ep, bytes, r.header("Content-Type").map(RegistryClient::mediaTypeOf).orElse(null), actual);
        }
    }

    /**
     * Downloads a blob into {@code part} (created), verifying size and digest as it streams.
     * Follows redirects (e.g. to object storage), without credentials for other hosts.
     *
     * @return bytes written
     */
    long getBlob(Endpoint ep, ImageReference ref, PullContext ctx, Digest digest, long size, Path part, String what)
            throws ImageCacheException, IOException {
        try (PullContext.Watch w = ctx.watch("downloading " + what + " from " + ep);
             Response r = send(ep, ref, ctx, w, "GET", "/v2/" + ref.path() + "/blobs/" + digest, null, true, what)) {
            if (r.status() != 200) {
                throw statusFailure(ep, ref, ctx.auth, r.status(), readError(r.body()), r.headers(), what, true);
            }
            MessageDigest md = Digest.sha256();
            long total = 0;
            try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 OutputStream out = Channels.newOutputStream(ch)) {
                byte[] buf = new byte[BUFFER];
                InputStream in = r.body();
                try {
                    while (total <= size) {
                        int n = in.read(buf, 0, (int) Math.min(buf.length, size + 1 - total));
                        if (n < 0) {
                            break;
                        }
                        w.progress();
                        md.update(buf, 0, n);
                        out.write(buf, 0, n);
                        total += n;
                        ctx.bytesFetched.addAndGet(n);
                    }
                } catch (IOException e) {
                    if (w.tripped() != null) {
                        throw timeout(ep, w);
                    }
                    throw new RegistryException(RegistryException.Reason.NETWORK, ep.authority(), "downloading " + what
                            + " from " + ep + " failed after " + total + " of " + size + " bytes: " + describe(e), e);
                }
                ch.force(true);
            } catch (IOException e) {
                if (w.tripped() != null) {
                    throw timeout(ep, w);
                }
                throw e;
            }
            if (total < size) {
                throw new RegistryException(RegistryException.Reason.NETWORK, ep.authority(), "truncated download of "
                        + what + " from " + ep + ": the connection ended after " + total + " of " + size + " bytes");
            }
            if (total > size) {
                throw new InvalidImageException(what + " from " + ep + ": size mismatch, descriptor says " + size
                        + " bytes but the registry sent more");
            }
            Digest actual = Digest.of(md);
            if (!actual.equals(digest)) {
                throw new InvalidImageException(what + " from " + ep + ": content does not match its digest " + digest
                        + " (computed " + actual + "); the registry sent corrupt or different content");
            }
            return total;
        }
    }

    // ---- failures -----------------------------------------------------------------------------

    private RegistryException networkFailure(Endpoint ep, URI u, PullContext.Watch w, IOException e, String what) {
        if (w.tripped() != null) {
            return timeout(ep, w);
        }
        if (e instanceof HttpConnectTimeoutException) {
            return new RegistryException(RegistryException.Reason.TIMEOUT, ep.authority(), "cannot connect to "
                    + u.getRawAuthority() + " within " + config.connectTimeout().toSeconds() + " s (fetching " + what + ")", e);
        }
        if (e instanceof HttpTimeoutException) {
            return new RegistryException(RegistryException.Reason.TIMEOUT, ep.authority(), u.getRawAuthority()
                    + " did not answer within " + config.progressTimeout().toSeconds() + " s (fetching " + what + ")", e);
        }
        String detail = e instanceof ConnectException ? "connection refused or unreachable" : describe(e);
        String tls = hasCause(e, SSLException.class) ? " (TLS: for a registry with a self-signed certificate set "
                + "registries.\"" + ep.authority() + "\".caFile, or insecure: true)" : "";
        return new RegistryException(RegistryException.Reason.NETWORK, ep.authority(), "cannot reach " + ep + " at "
                + u.getScheme() + "://" + u.getRawAuthority() + " (fetching " + what + "): " + detail + tls, e);
    }

    private RegistryException interrupted(Endpoint ep, PullContext.Watch w, String what) {
        if (w.tripped() != null) {
            return timeout(ep, w);
        }
        Thread.currentThread().interrupt();
        return new RegistryException(RegistryException.Reason.NETWORK, ep.authority(), "fetching " + what + " from "
                + ep + " was interrupted");
    }

    private static RegistryException timeout(Endpoint ep, PullContext.Watch w) {
        return new RegistryException(RegistryException.Reason.TIMEOUT, ep.authority(), ep + ": " + w.tripped());
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String rm = root != e && root.getMessage() != null ? " (" + root.getMessage() + ")" : "";
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m) + rm;
    }

    /** Maps an unexpected HTTP status to the exception a caller reports. */
    ImageCacheException statusFailure(Endpoint ep, ImageReference ref, RegistryAuth creds, int status, byte[] body,
                                      HttpHeaders headers, String what, boolean notFoundIsImage) {
        String detail = errorDetail(body);
        String a = ep.authority();
        return switch (status) {
            case 401 -> unauthorized(ep, ref, creds, what, body);
            case 403 -> new RegistryException(RegistryException.Reason.FORBIDDEN, a, ep + " denied access to "
                    + ref.repository() + " (HTTP 403 fetching " + what + ")" + detail);
            case 404 -> notFoundIsImage
                    ? new ImageNotFoundException(ref.normalized(), what + " not found on " + ep + " (HTTP 404)" + detail)
                    : new RegistryException(RegistryException.Reason.PROTOCOL, a, ep + ": HTTP 404 fetching " + what + detail);
            case 429 -> new RegistryException(RegistryException.Reason.RATE_LIMITED, a, ep + " is rate limiting pulls "
                    + "(HTTP 429 fetching " + what + ")" + headers.firstValue("Retry-After").map(s -> "; retry after " + s + " s").orElse("")
                    + detail);
            default -> status >= 500
                    ? new RegistryException(RegistryException.Reason.SERVER_ERROR, a, ep + " failed with HTTP " + status
                            + " fetching " + what + detail)
                    : new RegistryException(RegistryException.Reason.PROTOCOL, a, ep + " answered HTTP " + status
                            + " fetching " + what + detail);
        };
    }

    /** A final 401 from a registry, saying whose credentials it refused. */
    private static RegistryException unauthorized(Endpoint ep, ImageReference ref, RegistryAuth creds, String what, byte[] body) {
        String who = ep.mirror() ? "mirrors get no credentials"
                : creds instanceof RegistryAuth.Anonymous ? "no credentials were given (imagePullSecrets)"
                : creds.user().map(u -> "it rejected the credentials of user '" + u + "'").orElse("it rejected the token");
        return new RegistryException(RegistryException.Reason.UNAUTHORIZED, ep.authority(), ep + " requires authentication to pull "
                + ref.repository() + ": " + who + " (HTTP 401 fetching " + what + ")" + errorDetail(body));
    }

    private record ErrorBody(List<ErrorEntry> errors) {
    }

    private record ErrorEntry(String code, String message) {
    }

    /** " (CODE: message; ...)" from a distribution error body, or "". */
    static String errorDetail(byte[] body) {
        if (body == null || body.length == 0) {
            return "";
        }
        try {
            ErrorBody eb = Json.MAPPER.readValue(body, ErrorBody.class);
            if (eb != null && eb.errors() != null && !eb.errors().isEmpty()) {
                List<String> parts = new ArrayList<>();
                for (ErrorEntry e : eb.errors()) {
                    if (e != null) {
                        parts.add((e.code() == null ? "" : e.code() + ": ") + (e.message() == null ? "" : e.message()));
                    }
                }
                return ": " + printable(String.join("; ", parts));
            }
        } catch (IOException | RuntimeException ignored) {
            // not a distribution error document
        }
        return "";
    }

    private static String printable(String s) {
        String t = s.replaceAll("[\\p{Cntrl}]", " ").strip();
        return t.length() > 300 ? t.substring(0, 300) + "..." : t;
    }

    private static byte[] readError(InputStream in) {
        try {
            return in.readNBytes(MAX_ERROR_BODY);
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static void drain(InputStream in) {
        try (in) {
            in.readNBytes(MAX_ERROR_BODY);
        } catch (IOException ignored) {
            // the connection is dropped instead of reused
        }
    }

    private static byte[] readBounded(InputStream in, PullContext.Watch w, long limit) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[16 * 1024];
        while (out.size() < limit) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, limit - out.size()));
            if (n < 0) {
                break;
            }
            w.progress();
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    static String mediaTypeOf(String contentType) {
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        clients.values().forEach(HttpClient::close);
        clients.clear();
    }
}
