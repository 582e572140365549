package io.pvecri.proxmox.emulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.lang.System.Logger.Level;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The API front as PVE::HTTPServer / PVE::APIServer run it: token authentication (401 after a delay),
 * fault injection, routing, parameter validation, the {@code {"data": …}} envelope, and the error shape
 * (status, reason phrase = first line of the message, JSON {@code data:null}, {@code message},
 * {@code errors}).
 */
final class Router implements Function<EmuRequest, EmuResponse> {

    private static final System.Logger LOG = System.getLogger(Router.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    // PVE::APIServer::Formatter::extract_auth_value
    private static final Pattern TOKEN_HEADER = Pattern.compile("(?:^|\\s)PVEAPIToken(?:=| )([^;]*)");
    private static final Pattern NAMED_GROUP = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

    @FunctionalInterface
    interface Handler {
        Reply handle(Call call) throws Exception;
    }

    private record Route(String method, Pattern path, List<String> groups, ParamSchema schema, Handler handler) {
    }

    private final EmulatorConfig config;
    private final Faults faults;
    private final List<Route> routes = new CopyOnWriteArrayList<>();

    Router(EmulatorConfig config, Faults faults) {
        this.config = config;
        this.faults = faults;
    }

    /** Registers a route; named groups in {@code regex} become path parameters (and are validated by {@code schema}). */
    void route(String method, String regex, ParamSchema schema, Handler handler) {
        List<String> groups = new ArrayList<>();
        Matcher m = NAMED_GROUP.matcher(regex);
        while (m.find()) {
            groups.add(m.group(1));
        }
        routes.add(new Route(method, Pattern.compile("^" + regex + "$"), groups, schema, handler));
    }

    @Override
    public EmuResponse apply(EmuRequest req) {
        try {
            return dispatch(req);
        } catch (PveError e) {
            return error(e.status, e.pveMessage, e.errors);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "emulator handler failed", e);
            return error(500, String.valueOf(e.getMessage()) + "\n", Map.of());
        }
    }

    private EmuResponse dispatch(EmuRequest req) {
        if (req.path().startsWith("\0")) {
            return EmuResponse.bare(501, "no such uri");
        }
        Optional<String> user = authenticate(req);
        if (user.isEmpty()) {
            sleep(config.authFailureDelay().toMillis());
            String auth = req.header("authorization");
            return EmuResponse.bare(401, auth == null || !auth.contains("PVEAPIToken") ? "No ticket" : "Authentication failed!");
        }
        Optional<Faults.Fault> fault = faults.match(req.method(), req.path());
        if (fault.isPresent()) {
            switch (fault.get()) {
                case Faults.Fault.Respond r -> {
                    return error(r.status(), r.message(), r.errors());
                }
                case Faults.Fault.Drop d -> {
                    return EmuResponse.dropConnection();
                }
                case Faults.Fault.Delay d -> sleep(d.delay().toMillis());
            }
        }
        if (req.params().containsKey("\0unexpected-content")) {
            return EmuResponse.bare(501, "Unexpected content for method '" + req.method() + "'");
        }
        for (Route r : routes) {
            Matcher m = r.path.matcher(req.path());
            if (r.method.equals(req.method()) && m.matches()) {
                return invoke(r, m, req, user.get());
            }
        }
        return error(501, "Method '" + req.method() + " " + req.path() + "' not implemented", Map.of());
    }

    private EmuResponse invoke(Route r, Matcher m, EmuRequest req, String user) {
        Map<String, String> pathParams = new LinkedHashMap<>();
        for (String g : r.groups) {
            pathParams.put(g, m.group(g));
        }
        // PVE::HTTPServer::rest_handler merges URI and request parameters
        Map<String, List<String>> all = new LinkedHashMap<>(req.params());
        for (var e : pathParams.entrySet()) {
            List<String> given = req.params().get(e.getKey());
            if (given != null && !given.equals(List.of(e.getValue()))) {
                throw PveError.param(e.getKey(), "duplicate parameter (already defined in URI) with conflicting values!");
            }
            all.put(e.getKey(), List.of(e.getValue()));
        }
        r.schema.validate(all);
        Reply reply;
        try {
            reply = r.handler.handle(new Call(req, pathParams, user));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw PveError.die(String.valueOf(e.getMessage()));
        }
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("data", reply.data());
        if (reply.total() != null) {
            envelope.put("total", reply.total());
        }
        return EmuResponse.json(200, "OK", write(envelope));
    }

    /** PVE's token check: {@code PVEAPIToken=USER@REALM!TOKENID=SECRET}, value URI-unescaped. */
    private Optional<String> authenticate(EmuRequest req) {
        String header = req.header("authorization");
        if (header == null) {
            return Optional.empty();
        }
        Matcher m = TOKEN_HEADER.matcher(header);
        if (!m.find()) {
            return Optional.empty();
        }
        String value = URLDecoder.decode(m.group(1).replace("+", "%2B"), StandardCharsets.UTF_8);
        int eq = value.lastIndexOf('=');
        if (eq <= 0) {
            return Optional.empty();
        }
        String tokenId = value.substring(0, eq);
        String secret = value.substring(eq + 1);
        String expected = config.tokens().get(tokenId);
        if (expected == null || !MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), secret.getBytes(StandardCharsets.UTF_8))) {
            return Optional.empty();
        }
        return Optional.of(tokenId);
    }

    /** The error reply of PVE::APIServer (json formatter; {@code message} since http-server 5.2.0). */
    EmuResponse error(int status, String message, Map<String, String> errors) {
        String full = message.endsWith("\n") ? message : message + "\n";
        String reason = full.lines().findFirst().orElse("").strip();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", null);
        if (!errors.isEmpty()) {
            body.put("errors", errors);
        }
        if (!config.legacyErrors()) {
            body.put("message", full);
        }
        return EmuResponse.json(status, reason.isEmpty() ? "Internal Server Error" : reason, write(body));
    }

    private static String write(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
