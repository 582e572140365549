package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * The HTTP layer: builds PVE requests (token header, query string or form body), sends them over
 * OkHttp, unwraps the {@code {"data": …}} envelope, classifies errors, retries (reads on
 * {@link PveException.Unavailable}, writes on lock contention or when the request never left),
 * limits parallel writes per node, and reports + logs every attempt once, secret redacted.
 */
final class PveHttp implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(PveHttp.class.getName());
    private static final MediaType FORM = MediaType.get("application/x-www-form-urlencoded");
    private static final Backoff READ_BACKOFF = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(2), 2.0);

    private final OkHttpClient http;
    private final OkHttpClient uploads;
    private final HttpUrl base;
    private final String authorization;
    private final Redactor redactor;
    private final PveCallListener listener;
    private final NodeGate gate;
    private final LockRetry lockRetry;
    private final int readAttempts;
    private final RandomGenerator random = RandomGenerator.getDefault();

    PveHttp(PveClientConfig config) {
        OkHttpClient.Builder b = new OkHttpClient.Builder()
                .connectTimeout(config.connectTimeout())
                .readTimeout(config.requestTimeout())
                .writeTimeout(config.requestTimeout())
                .callTimeout(config.requestTimeout())
                .protocols(List.of(Protocol.HTTP_1_1)) // pveproxy speaks HTTP/1.1 only; reason phrases carry errors
                .retryOnConnectionFailure(false)       // retries are decided here, per method
                .followRedirects(false)
                // pveproxy drops idle keep-alive connections after 5 s; never reuse one that old
                .connectionPool(new ConnectionPool(8, 3, TimeUnit.SECONDS));
        TlsSetup.apply(b, config.trust());
        this.http = b.build();
        this.uploads = http.newBuilder().callTimeout(Duration.ZERO).build();
        this.base = HttpUrl.get(config.baseUri());
        this.authorization = config.token().headerValue();
        this.redactor = new Redactor(config.token());
        this.listener = config.listener();
        this.gate = new NodeGate(config.maxParallelMutationsPerNode());
        this.lockRetry = new LockRetry(config.lockRetry());
        this.readAttempts = config.readAttempts();
    }

    /** GET, returning {@code data}. */
    JsonNode get(ApiPath path, PveParams query) {
        return data(read(path, query));
    }

    /** GET, returning the whole envelope ({@code data} plus {@code total} on paged lists). */
    JsonNode getEnvelope(ApiPath path, PveParams query) {
        return read(path, query);
    }

    JsonNode post(ApiPath path, PveParams form) {
        return data(write("POST", path, PveParams.of(), formBody(form), false));
    }

    JsonNode put(ApiPath path, PveParams form) {
        return data(write("PUT", path, PveParams.of(), formBody(form), false));
    }

    JsonNode delete(ApiPath path, PveParams query) {
        return data(write("DELETE", path, query, null, false));
    }

    /** POST with a prepared (re-writable) body and no overall call deadline, e.g. a template upload. */
    JsonNode postUpload(ApiPath path, RequestBody body) {
        return data(write("POST", path, PveParams.of(), body, true));
    }

    private static JsonNode data(JsonNode root) {
        JsonNode d = root.get("data");
        return d == null ? NullNode.getInstance() : d;
    }

    NodeGate gate() {
        return gate;
    }

    private static RequestBody formBody(PveParams form) {
        return RequestBody.create(FormEncoding.encode(form.values()).getBytes(StandardCharsets.US_ASCII), FORM);
    }

    private JsonNode read(ApiPath path, PveParams query) {
        for (int attempt = 1; ; attempt++) {
            try {
                return attempt("GET", path, query, null, false);
            } catch (PveException.Unavailable e) {
                if (attempt >= readAttempts || Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                pause(READ_BACKOFF.jittered(attempt - 1, random), e);
            }
        }
    }

    private JsonNode write(String method, ApiPath path, PveParams query, RequestBody body, boolean longRunning) {
        String what = method + " " + redactor.redact(path.toString());
        return lockRetry.run(what, () -> {
            for (int attempt = 1; ; attempt++) {
                try {
                    return attempt(method, path, query, body, longRunning);
                } catch (PveException.Unavailable e) {
                    // only safe when nothing reached the server
                    if (e.requestSent() || attempt >= readAttempts || Thread.currentThread().isInterrupted()) {
                        throw e;
                    }
                    pause(READ_BACKOFF.jittered(attempt - 1, random), e);
                }
            }
        });
    }

    private static void pause(Duration d, PveException last) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw last;
        }
    }

    private JsonNode attempt(String method, ApiPath path, PveParams query, RequestBody body, boolean longRunning) {
        Request request = build(method, path, query, body);
        String endpoint = method + " " + path.template();
        String node = path.node();
        long start = System.nanoTime();
        NodeGate.Permit permit = null;
        int status = 0;
        try {
            if (!method.equals("GET") && !node.isEmpty()) {
                permit = gate.enter(node);
            }
            try (Response response = (longRunning ? uploads : http).newCall(request).execute()) {
                status = response.code();
                JsonNode data = unwrap(response, endpoint);
                done(method, path, node, status, start, "ok", null);
                return data;
            }
        } catch (PveException e) {
            done(method, path, node, status, start, PveCall.outcomeOf(e), e);
            throw e;
        } catch (IOException e) {
            PveException pe = fromIo(e, endpoint, status != 0);
            done(method, path, node, status, start, PveCall.outcomeOf(pe), pe);
            throw pe;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            PveException pe = new PveException.Unavailable("interrupted while waiting for a node slot", 0, endpoint, e, false);
            done(method, path, node, status, start, PveCall.outcomeOf(pe), pe);
            throw pe;
        } finally {
            if (permit != null) {
                permit.close();
            }
        }
    }

    private Request build(String method, ApiPath path, PveParams query, RequestBody body) {
        HttpUrl.Builder url = base.newBuilder();
        for (String segment : path.segments()) {
            url.addPathSegment(segment);
        }
        query.values().forEach((k, v) -> url.addEncodedQueryParameter(FormEncoding.component(k), FormEncoding.component(v)));
        return new Request.Builder()
                .url(url.build())
                .header("Authorization", authorization)
                .header("Accept", "application/json")
                .method(method, body)
                .build();
    }

    private JsonNode unwrap(Response response, String endpoint) throws IOException {
        ResponseBody body = response.body();
        String text = body.string();
        JsonNode root = parse(text);
        int code = response.code();
        if (code >= 200 && code < 300) {
            if (root == null) {
                throw new PveException.ApiError("response is not JSON: " + redactor.redact(abbreviate(text)), code, endpoint);
            }
            return root;
        }
        String message = root == null ? null : Json.text(root, "message", null);
        if (message == null || message.isBlank()) {
            message = response.message();
        }
        if (message == null || message.isBlank()) {
            message = "HTTP " + code;
        }
        message = redactor.redact(message.strip());
        Map<String, String> errors = new LinkedHashMap<>();
        if (root != null && root.get("errors") instanceof JsonNode errs && errs.isObject()) {
            errs.properties().forEach(e -> errors.put(e.getKey(),
                    redactor.redact((e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()).strip())));
        }
        throw ErrorClassifier.classify(code, message, errors, endpoint);
    }

    private static JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    private PveException fromIo(IOException e, String endpoint, boolean gotResponse) {
        String text = redactor.redact(describe(e));
        if (e instanceof SSLException) {
            return new PveException.TlsFailure("TLS handshake failed: " + text, endpoint, e);
        }
        boolean notSent = !gotResponse && (e instanceof ConnectException || e instanceof UnknownHostException);
        if (e instanceof InterruptedIOException && e.getMessage() != null && e.getMessage().contains("timeout")) {
            text = "timed out: " + text;
        }
        return new PveException.Unavailable(text, 0, endpoint, e, !notSent);
    }

    private static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null && b.length() < 500; t = t.getCause()) {
            if (!b.isEmpty()) {
                b.append(": ");
            }
            b.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
            if (t.getCause() == t) {
                break;
            }
        }
        return b.toString();
    }

    private void done(String method, ApiPath path, String node, int status, long startNanos, String outcome, PveException error) {
        Duration latency = Duration.ofNanos(System.nanoTime() - startNanos);
        try {
            listener.onCall(new PveCall(method, path.template(), node, status, latency, outcome));
        } catch (RuntimeException listenerFailure) {
            LOG.log(Level.WARNING, "PveCallListener failed: " + listenerFailure);
        }
        Level level = level(method, error);
        if (LOG.isLoggable(level)) {
            String line = "PVE " + method + " " + path + " -> " + (status == 0 ? "-" : status) + " " + outcome
                    + " in " + latency.toMillis() + " ms" + (error == null ? "" : ": " + error.pveMessage());
            LOG.log(level, redactor.redact(line));
        }
    }

    private static Level level(String method, PveException error) {
        if (error == null) {
            return method.equals("GET") ? Level.DEBUG : Level.INFO;
        }
        return switch (error) {
            case PveException.Unavailable u -> Level.WARNING;
            case PveException.TlsFailure t -> Level.WARNING;
            case PveException.AuthFailed a -> Level.WARNING;
            case PveException.ApiError a -> Level.WARNING;
            default -> Level.INFO;
        };
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }
}
